import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, frameMessages } from './codec.ts';
import { engineHarness, engineVariants } from './engine-harness.ts';
import { ProducerFencedError } from './errors.ts';
import { memoryFerry } from './testing.ts';
import { PartitionActor } from './partition-actor.ts';
import { resolveTopicOptions } from './topic-options.ts';
import { WriteAheadLog } from '../wal/index.ts';
import { SeededRandom } from '../wal/index.ts';

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
    await ferry.close();

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
    await ferry.close();
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
    await ferry.close();
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
});
