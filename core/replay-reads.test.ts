// What replay reads when a partition reopens (issue 11, recovery): the headers of the log and the
// payloads that carry state, not every message; and the dedupe window comes back whole, also from
// logs written before DATA batches carried flags.
import { describe, expect, it } from 'vitest';
import { encodeMessage, frameMessages } from './codec.ts';
import { PartitionActor } from './partition-actor.ts';
import { CHECKPOINT_KIND } from './partition-replay.ts';
import { RecordType, type CheckpointRecord } from './records.ts';
import { writeSnapshot } from './snapshot-parts.ts';
import { resolveTopicOptions } from './topic-options.ts';
import { ManualClock, SeededRandom, WriteAheadLog, type FileHandle, type FileSystem } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';

/** A file system that counts the reads through it and their bytes. */
function countingFs(inner: FileSystem): { fs: FileSystem; read: { bytes: number; calls: number } } {
  const read = { bytes: 0, calls: 0 };
  const handle = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, key) {
        if (key === 'read') {
          return (buffer: Uint8Array, at: number, length: number, position: number) => {
            const n = target.read(buffer, at, length, position);
            read.bytes += n;
            read.calls++;
            return n;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const fs = new Proxy(inner, {
    get(target, key) {
      if (key === 'open') return (path: string, mode: Parameters<FileSystem['open']>[1]) => handle(target.open(path, mode));
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs, read };
}

const limits = { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, checkpointEveryRecords: 1_000_000, maxGroups: 10 };
const VALUE = 'v'.repeat(1000);

function setup() {
  const counting = countingFs(new MemoryFileSystem({ random: new SeededRandom(5) }));
  const clock = new ManualClock(1_700_000_000_000);
  const options = resolveTopicOptions('t', { dedupWindowMs: 60_000 });
  const openLog = () => WriteAheadLog.open({ dir: '/p', fs: counting.fs, clock, segmentBytes: 256 * 1024 });
  const openActor = (log: WriteAheadLog) => PartitionActor.open({ topic: 't', partition: 0, options, clock, random: new SeededRandom(1), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 });
  return { ...counting, clock, openLog, openActor };
}

const batch = (seq: number, n: number, ids?: (string | null)[]) => ({
  payload: frameMessages(Array.from({ length: n }, (_, i) => encodeMessage({ value: VALUE, ...(ids?.[i] ? { id: ids[i]! } : {}) }, 0, 1 << 20))),
  count: n,
  producer: { id: 7, epoch: 0, baseSequence: seq, name: 'p' },
  ...(ids ? { ids } : {}),
});

describe('replay after reopening a partition (issue 11, recovery)', () => {
  it('reads the headers and the id-carrying batches of the window, not every message, and restores producers and ids', async () => {
    const s = setup();
    let log = await s.openLog();
    let actor = s.openActor(log);
    let seq = 0;
    for (let i = 0; i < 100; i++, seq += 20) await actor.publish(batch(seq, 20));
    const withIds = await actor.publish(batch(seq, 2, ['order-1', null]));
    seq += 2;
    await actor.retain(); // a checkpoint
    for (let i = 0; i < 10; i++, seq += 20) await actor.publish(batch(seq, 20));
    const last = batch(seq, 20);
    const lastReply = await actor.publish(last);
    actor.close();
    await log.close();
    const logBytes = log.segments().reduce((sum, x) => sum + x.sizeBytes, 0);
    expect(logBytes).toBeGreaterThan(2_000_000);

    log = await s.openLog();
    s.read.bytes = 0;
    s.read.calls = 0;
    actor = s.openActor(log);
    // All of it lies within the dedupe window: replay read every payload before (about the log).
    expect(s.read.bytes).toBeLessThan(logBytes / 10);
    // The checkpoint says where the window's oldest id lies: no header before it is read (one
    // read per header of the 100 batches before it, without that).
    expect(s.read.calls).toBeLessThan(50);
    expect(await actor.publish(last)).toEqual({ offsets: lastReply.offsets, duplicates: Array(20).fill(true) });
    const again = await actor.publish({ ...batch(seq + 20, 1, ['order-1']) });
    expect(again).toEqual({ offsets: [withIds.offsets[0]], duplicates: [true] });
    actor.close();
    await log.close();
  });

  it('restores message ids from DATA batches without flags, before a checkpoint that does not say where ids start (logs of earlier versions)', async () => {
    const s = setup();
    let log = await s.openLog();
    const record = encodeMessage({ value: 'a', id: 'old-1' }, 0, 1 << 20);
    // As earlier versions wrote it: no flags in the header.
    await log.append({ type: RecordType.DATA, recordCount: 1, payload: frameMessages([record]), timestamp: s.clock.now() });
    await writeSnapshot(log, CHECKPOINT_KIND, { groups: {}, producers: [] } satisfies CheckpointRecord, s.clock.now());
    await log.close();
    log = await s.openLog();
    const actor = s.openActor(log);
    const reply = await actor.publish({ payload: frameMessages([record]), count: 1, ids: ['old-1'] });
    expect(reply).toEqual({ offsets: [0], duplicates: [true] });
    actor.close();
    await log.close();
  });
});
