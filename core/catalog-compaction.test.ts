// The catalog log stays bounded (issue 9): every named producer appends an epoch, so the catalog
// is compacted into a snapshot and the segments before it deleted; a reopen gives the same state.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { CATALOG_COMPACT_AFTER_BYTES, CATALOG_LOG_OPTIONS, Catalog } from './catalog.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';
import { encodeControl } from './codec.ts';

function setup() {
  const fs = new MemoryFileSystem({ random: new SeededRandom(3) });
  const clock = new ManualClock(1_000_000);
  const log = () => WriteAheadLog.open({ dir: '/ferry/_catalog', fs, clock, ...CATALOG_LOG_OPTIONS });
  return { log, open: async () => Catalog.load(await log()) };
}

describe('catalog compaction', () => {
  it('a compaction that left its parts but not its final record (a crash, a full disk) does not stop the catalog loading', async () => {
    // The parts of a catalog snapshot share record type 3 with TOPIC_DELETED: read as a deletion,
    // such a part made Ferry.open fail with CORRUPT_STATE (found by `ferry verify`'s reading of it).
    const s = setup();
    let catalog = await s.open();
    await catalog.addTopic('orders', resolveTopicOptions('orders', {}), 1);
    await catalog.addTopic('gone', resolveTopicOptions('gone', { deadLetter: false }), 1);
    await catalog.removeTopic('gone', 1);
    await catalog.close();
    const log = await s.log();
    await log.append({ type: 3, recordCount: 1, payload: encodeControl({ v: 1, i: 0, n: 2, b: new Uint8Array(16) }), timestamp: 2 }); // the first of two parts, then nothing
    await log.close();
    catalog = await s.open();
    expect(catalog.topics().map(([name]) => name)).toEqual(['orders']); // and 'gone' stays deleted
    await catalog.close();
  });

  it('keeps the catalog bounded under many producer opens, and a reopen gives the same topics and epochs', async () => {
    const s = setup();
    let catalog = await s.open();
    for (const name of ['orders', 'orders.dlq', 'payments']) await catalog.addTopic(name, resolveTopicOptions(name, {}), 1);
    let largest = 0;
    for (let i = 0; i < 30_000; i++) {
      await catalog.bumpEpoch(`producer-${i % 500}`, 1);
      largest = Math.max(largest, catalog.logBytes);
    }
    expect(catalog.lastCompactionError).toBeUndefined();
    // Without compaction the log would hold every one of the 30,000 epochs.
    expect(largest).toBeLessThan(CATALOG_COMPACT_AFTER_BYTES + 2 * CATALOG_LOG_OPTIONS.segmentBytes);
    const topics = catalog.topics();
    const epochs = catalog.epochs();
    expect(epochs).toHaveLength(500);
    expect(new Map(epochs).get('producer-499')).toBe(59);
    await catalog.close();

    catalog = await s.open();
    expect(catalog.topics()).toEqual(topics);
    expect(catalog.epochs().sort()).toEqual(epochs.sort());
    expect(await catalog.bumpEpoch('producer-0', 1)).toBe(60); // fencing goes on from the same epoch
    await catalog.close();
  }, 60_000);

  it('through the engine: 8,000 named producer opens keep the catalog directory bounded, and a reopen fences from the same epochs', async () => {
    const setup = memoryFerry(11);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    const catalogBytes = () => setup.fs.list('/ferry/_catalog').reduce((sum, name) => sum + (setup.fs.fileSizes(`/ferry/_catalog/${name}`)?.cached ?? 0), 0);
    let largest = 0;
    for (let i = 0; i < 8000; i++) {
      const producer = ferry.producer({ id: `svc-${i % 20}` });
      await producer.publish('t', { value: i });
      await producer.close();
      largest = Math.max(largest, catalogBytes());
    }
    expect(largest).toBeLessThan(CATALOG_COMPACT_AFTER_BYTES + 2 * CATALOG_LOG_OPTIONS.segmentBytes);
    await ferry.close();
    ferry = await setup.open();
    expect(ferry.topics().map((t) => t.name).sort()).toEqual(['t', 't.dlq']);
    // The newest instance of a producer fences the one before it, as before the restart.
    const older = ferry.producer({ id: 'svc-0' });
    await older.publish('t', { value: 'a' });
    const newer = ferry.producer({ id: 'svc-0' });
    await newer.publish('t', { value: 'b' });
    await expect(older.publish('t', { value: 'c' })).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    await ferry.close();
  }, 60_000);
});
