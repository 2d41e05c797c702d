import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, frameMessages } from './codec.ts';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { ProducerFencedError } from './errors.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import { PRODUCER_IDLE_MS, ProducerTable } from './producer-state.ts';
import { PartitionActor } from './partition-actor.ts';
import { resolveTopicOptions } from './topic-options.ts';
import { WriteAheadLog } from '../wal/index.ts';
import { ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';

describe.each(engineVariants)('dedupe ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('stores a message id once within the window, also across a restart; the repeat gets the original offset', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { dedupWindowMs: 60_000 });
    const first = await ferry.producer().publish('t', { value: 'a', id: 'order-1' });
    const again = await ferry.producer().publish('t', { value: 'a', id: 'order-1' });
    expect(again).toEqual({ ...first, duplicate: true });
    const batch = await ferry.producer().publishMany('t', [{ value: 'b', id: 'order-2' }, { value: 'b', id: 'order-2' }]);
    expect(batch[1]).toEqual({ ...batch[0], duplicate: true });
    await ferry.close({ timeoutMs: 0 });

    ferry = await setup.open();
    expect(await ferry.producer().publish('t', { value: 'a', id: 'order-1' })).toEqual({ ...first, duplicate: true });
    const c = ferry.consumer('g', { topics: ['t'] });
    expect([(await c.next())!.value, (await c.next())!.value]).toEqual(['a', 'b']);
  });

  it('stores a repeated id again once the window has passed, also when the window ran out over a restart', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { dedupWindowMs: 200 });
    const publishedAt = setup.now();
    await ferry.producer().publish('t', { value: 'a', id: 'order-1' });
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open();
    await setup.elapse(Math.max(0, publishedAt + 201 - setup.now()));
    const late = await ferry.producer().publish('t', { value: 'a', id: 'order-1' });
    expect(late.duplicate).toBe(false);
    const c = ferry.consumer('g', { topics: ['t'] });
    expect([(await c.next())!.value, (await c.next())!.value]).toEqual(['a', 'a']);
  });

  it('dedupes an id without a key on a many-partition topic (the id picks the partition)', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t', { partitions: 8 });
    const p = ferry.producer();
    const first = await p.publish('t', { value: 1, id: 'order-7' });
    for (let i = 0; i < 5; i++) expect(await p.publish('t', { value: 2, id: 'order-7' })).toEqual({ ...first, duplicate: true });
  });

  it('an idempotent producer keeps working after some or all of a batch were duplicate ids', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t');
    const p = ferry.producer();
    await p.publish('t', { value: 1, id: 'a' });
    expect((await p.publish('t', { value: 1, id: 'a' })).duplicate).toBe(true); // whole batch dropped
    const mixed = await p.publishMany('t', [{ value: 2, id: 'b' }, { value: 2, id: 'b' }, { value: 3 }]);
    expect(mixed.map((r) => r.duplicate)).toEqual([false, true, false]);
    expect(mixed[1]!.offset).toBe(mixed[0]!.offset);
    expect((await p.publish('t', { value: 4 })).duplicate).toBe(false); // no SEQUENCE_GAP
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open(); // the sequence ranges of those batches were logged
    expect((await ferry.producer().publish('t', { value: 5 })).duplicate).toBe(false);
  });

  it('refuses a new producer at the limit while the others are active (typed, retriable), and keeps serving the known ones', async () => {
    // Issue 9: forgetting an active producer would make its retried batch look new (stored twice).
    const setup = engine.setup({ limits: { maxProducers: 2 } });
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const steady = ferry.producer();
    await steady.publish('t', { value: 0 });
    await ferry.producer().publish('t', { value: 'one-off' });
    const third = ferry.producer({ deliveryTimeoutMs: 50 }).publish('t', { value: 'refused' });
    third.catch(() => {});
    for (let i = 0; i < 6; i++) await setup.elapse(30); // its retries, until its delivery timeout
    await expect(third).rejects.toMatchObject({ code: 'PRODUCERS_FULL', retriable: true });
    expect((await steady.publish('t', { value: 'still fine' })).duplicate).toBe(false);
  });

  it('a producer reopened with the same id fences the old one', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t');
    const old = ferry.producer({ id: 'checkout' });
    await old.publish('t', { value: 1 });
    const fresh = ferry.producer({ id: 'checkout' });
    await fresh.publish('t', { value: 2 });
    await expect(old.publish('t', { value: 3 })).rejects.toBeInstanceOf(ProducerFencedError);
    await fresh.publish('t', { value: 4 });
  });
});

// In-thread only: drives one partition actor directly, since a retried batch needs a reply that
// was lost, which the public API cannot produce on demand (workers/worker-death.test.ts covers
// retries through a worker crash).
describe('dedupe in the partition actor', () => {
  it('appends a retried idempotent batch once, also after the partition is reopened', async () => {
    const setup = memoryFerry(22);
    const options = resolveTopicOptions('t');
    const limits = { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 1000, maxGroups: 10 };
    const openActor = async () => {
      const log = await WriteAheadLog.open({ dir: '/p', fs: setup.fs, clock: setup.clock });
      return { log, actor: PartitionActor.open({ topic: 't', partition: 0, options, clock: setup.clock, random: new SeededRandom(1), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 }) };
    };
    const request = (seq: number, values: string[]) => ({
      payload: frameMessages(values.map((v) => encodeMessage({ value: v }, 0, 1 << 20))),
      count: values.length,
      producer: { id: 42, epoch: 0, baseSequence: seq, name: 'p' },
    });
    let { log, actor } = await openActor();
    const a = await actor.publish(request(0, ['x', 'y']));
    expect(await actor.publish(request(0, ['x', 'y']))).toEqual({ offsets: a.offsets, duplicates: [true, true] });
    await actor.publish(request(2, ['z']));
    actor.close();
    await log.close();
    ({ log, actor } = await openActor());
    expect(await actor.publish(request(2, ['z']))).toEqual({ offsets: [2], duplicates: [true] });
    await expect(actor.publish(request(5, ['gap']))).rejects.toMatchObject({ code: 'SEQUENCE_GAP' });
    expect(log.nextOffset).toBe(3);
    actor.close();
    await log.close();
  });

  /** One actor on its own memory disk (syncs released by hand when `manual`), with its log. */
  const actorOnDisk = async (options: { manual?: boolean; maxProducers?: number } = {}) => {
    const fs = new MemoryFileSystem({ random: new SeededRandom(3), syncs: options.manual ? 'manual' : 'auto' });
    const clock = new ManualClock(1_700_000_000_000);
    const limits = { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: options.maxProducers ?? 10, checkpointEveryRecords: 1000, maxGroups: 10 };
    const open = async () => {
      const opening = WriteAheadLog.open({ dir: '/p', fs, clock, fsync: 'always' });
      while (fs.releaseSyncs() > 0 || fs.pendingSyncs > 0) await flush(2);
      const log = await opening;
      return { log, actor: PartitionActor.open({ topic: 't', partition: 0, options: resolveTopicOptions('t'), clock, random: new SeededRandom(1), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 }) };
    };
    return { fs, clock, open, ...(await open()) };
  };
  const message = (value: string, id?: string, producer?: { id: number; seq: number }) => ({
    payload: frameMessages([encodeMessage({ value }, 0, 1 << 20)]),
    count: 1,
    ...(id ? { ids: [id] } : {}),
    ...(producer ? { producer: { id: producer.id, epoch: 0, baseSequence: producer.seq, name: `p${producer.id}` } } : {}),
  });

  it('confirms a batch of repeated ids only once their originals are durable, and not if that sync fails (issue 9)', async () => {
    const { fs, actor } = await actorOnDisk({ manual: true });
    const original = actor.publish(message('first', 'order-1'));
    await flush(2);
    const repeat = actor.publish(message('again', 'order-1'));
    let answered = false;
    repeat.then(() => (answered = true), () => (answered = true));
    original.catch(() => {});
    await flush(5);
    expect(answered).toBe(false); // before the fix: answered at once with the original's offset
    fs.failNextSyncs(10);
    while (fs.releaseSyncs() > 0) await flush(2);
    await expect(original).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    await expect(repeat).rejects.toMatchObject({ code: 'FSYNC_FAILED' }); // never told "stored"
  });

  it('does not forget an active producer at the limit: a new one is refused (PRODUCERS_FULL), the active one\'s retry is not stored twice (issue 9)', async () => {
    const { clock, log, actor } = await actorOnDisk({ maxProducers: 2 });
    const first = await actor.publish(message('a', undefined, { id: 1, seq: 0 }));
    await actor.publish(message('b', undefined, { id: 2, seq: 0 }));
    // Before the fix producer 1 was forgotten here, and its retry below was stored again.
    await expect(actor.publish(message('c', undefined, { id: 3, seq: 0 }))).rejects.toMatchObject({ code: 'PRODUCERS_FULL', retriable: true });
    expect(await actor.publish(message('a', undefined, { id: 1, seq: 0 }))).toEqual({ offsets: first.offsets, duplicates: [true] });
    expect(log.nextOffset).toBe(2);
    // Idle long enough that no retry of its can come: the least recently used one is forgotten.
    clock.advance(PRODUCER_IDLE_MS);
    expect(await actor.publish(message('c', undefined, { id: 3, seq: 0 }))).toEqual({ offsets: [2], duplicates: [false] });
    expect(log.nextOffset).toBe(3);
  });

  it('measures producer idle time on the monotonic clock: a wall-clock jump does not make an active producer forgettable (issue 9)', async () => {
    const { clock, log, actor } = await actorOnDisk({ maxProducers: 2 });
    const first = await actor.publish(message('a', undefined, { id: 1, seq: 0 }));
    await actor.publish(message('b', undefined, { id: 2, seq: 0 }));
    clock.jump(PRODUCER_IDLE_MS * 4); // an NTP step, a laptop waking: no time passed for the process
    // Before the fix producer 1 looked idle for an hour, was forgotten, and its retry stored twice.
    await expect(actor.publish(message('c', undefined, { id: 3, seq: 0 }))).rejects.toMatchObject({ code: 'PRODUCERS_FULL' });
    expect(await actor.publish(message('a', undefined, { id: 1, seq: 0 }))).toEqual({ offsets: first.offsets, duplicates: [true] });
    expect(log.nextOffset).toBe(2);
  });

  it('knows after a restart how long its producers have been idle: a full table of idle ones takes a new producer at once', async () => {
    const { clock, log, actor, open } = await actorOnDisk({ maxProducers: 2 });
    await actor.publish(message('a', undefined, { id: 1, seq: 0 }));
    await actor.publish(message('b', undefined, { id: 2, seq: 0 }));
    await actor.retain(); // a checkpoint holds the table
    await actor.publish(message('a2', undefined, { id: 1, seq: 1 }));
    actor.close();
    await log.close();
    clock.advance(PRODUCER_IDLE_MS);
    const reopened = await open();
    // Before the fix every restored producer counted as active from the restart: refused for 15 minutes.
    expect(await reopened.actor.publish(message('c', undefined, { id: 3, seq: 0 }))).toMatchObject({ duplicates: [false] });
    reopened.actor.close();
    await reopened.log.close();
  });

  it('refuses a retry older than the batches it remembers instead of confirming it without an offset (issue 17)', () => {
    const table = new ProducerTable(10, () => 0);
    for (let seq = 0; seq < 20; seq++) table.record(7, 0, seq, 1, seq);
    expect(table.check(7, 0, 19, 1)).toEqual({ kind: 'duplicate', offsets: [19] });
    // Before the fix: { kind: 'duplicate', offsets: [-1] }, confirmed to the producer as stored at -1.
    expect(() => table.check(7, 0, 2, 1)).toThrow(expect.objectContaining({ code: 'DUPLICATE_SEQUENCE' }));
  });
});
