// ferry.alterTopic (issue 12 §Replay and admin): options of an existing topic change durably and
// at once on its partitions (in-thread and on worker threads); those that cannot change are
// refused with a typed error that says why. A new-user trial found options could not change at all.
import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('ferry.alterTopic() ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('a raised maxDeliveries keeps a failing message from the dead-letter topic, at once and after a restart', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 100 } });
    await ferry.producer().publish('t', { value: 'flaky' });
    let c = ferry.consumer('g', { topics: ['t'] });
    let nackedAt = setup.now();
    await (await c.next())!.nack({ error: 'first' });
    const changed = await ferry.alterTopic('t', { maxDeliveries: 4 });
    expect(changed.maxDeliveries).toBe(4);
    const second = await setup.nextDue(c, nackedAt + 100);
    expect(second.attempt).toBe(2);
    // The second failure would dead-letter it under the old maxDeliveries of 2.
    nackedAt = setup.now();
    await second.nack({ error: 'second' });
    const third = await setup.nextDue(c, nackedAt + 100);
    expect(third.attempt).toBe(3);
    expect(await ferry.read('t.dlq')).toEqual([]);
    await third.nack({ error: 'third' });
    await c.close();
    await ferry.close();

    ferry = await setup.open();
    expect(ferry.topics().find((t) => t.name === 't')!.options.maxDeliveries).toBe(4);
    c = ferry.consumer('g', { topics: ['t'] });
    await setup.elapse(100);
    const fourth = (await c.next())!;
    expect(fourth.attempt).toBe(4);
    await fourth.nack({ error: 'fourth' }); // the fourth failure reaches the new maxDeliveries
    let letters = await ferry.read('t.dlq');
    for (let i = 0; i < 100 && letters.length === 0; i++) {
      await setup.elapse(10);
      letters = await ferry.read('t.dlq');
    }
    expect(letters.map((l) => [l.value, l.deadLetter?.attempts])).toEqual([['flaky', 4]]);
    await c.close();
  });

  it('a shorter ackTimeoutMs applies to the next lease', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 600_000 });
    await ferry.producer().publish('t', { value: 1 });
    await ferry.alterTopic('t', { ackTimeoutMs: 300 });
    const c = ferry.consumer('g', { topics: ['t'] });
    const first = (await c.next())!;
    const leasedAt = setup.now();
    // Not acked: the lease of 300 ms runs out and the message comes again (under the old
    // 10 minutes it would not, and the wait below would time out).
    const again = await setup.nextDue(c, leasedAt + 300);
    expect(again.offset).toBe(first.offset);
    expect(again.attempt).toBe(2);
    await again.ack();
  });
});

describe('ferry.alterTopic() refusals and merging', () => {
  it('refuses another partition count or dead-letter topic with TOPIC_OPTION_FIXED saying why; takes the stored ones again', async () => {
    const ferry = await memoryFerry(7).open();
    await ferry.createTopic('t', { partitions: 3 });
    await expect(ferry.alterTopic('t', { partitions: 4 } as never)).rejects.toMatchObject({ code: 'TOPIC_OPTION_FIXED', message: expect.stringContaining("a key's partition is its hash") });
    await expect(ferry.alterTopic('t', { deadLetter: 'other' } as never)).rejects.toMatchObject({ code: 'TOPIC_OPTION_FIXED', message: expect.stringContaining('redrive') });
    const same = await ferry.alterTopic('t', { partitions: 3, deadLetter: 't.dlq', maxDeliveries: 9 } as never);
    expect(same).toMatchObject({ partitions: 3, deadLetter: 't.dlq', maxDeliveries: 9 });
    await ferry.close();
  });

  it('refuses unknown options, bad values and unknown topics, changing nothing', async () => {
    const setup = memoryFerry(8);
    let ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 3 });
    const before = ferry.topics();
    await expect(ferry.alterTopic('t', { maxDelivery: 4 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('maxDelivery') });
    await expect(ferry.alterTopic('t', { maxDeliveries: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('maxDeliveries') });
    await expect(ferry.alterTopic('t', { retention: { days: 1 } } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.alterTopic('t', null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.alterTopic('nope', { maxDeliveries: 4 })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(ferry.topics()).toEqual(before);
    await ferry.close();
    ferry = await setup.open();
    expect(ferry.topics()).toEqual(before);
    await ferry.close();
  });

  it('merges retention bounds, keeps the backoff unless given, and createTopic with the old options then names alterTopic', async () => {
    const ferry = await memoryFerry(9).open();
    await ferry.createTopic('t', { retention: { ms: 1000, bytes: 5000 }, backoff: { kind: 'fixed', delayMs: 50 } });
    const after = await ferry.alterTopic('t', { retention: { ms: 2000 }, dedupWindowMs: 0 });
    expect(after.retention).toEqual({ ms: 2000, bytes: 5000 });
    expect(after.backoff).toMatchObject({ kind: 'fixed', delayMs: 50 });
    expect(after.dedupWindowMs).toBe(0);
    const exp = await ferry.alterTopic('t', { backoff: { kind: 'exponential', initialMs: 10, maxMs: 100 } });
    expect(exp.backoff).toMatchObject({ kind: 'exponential', initialMs: 10, maxMs: 100 });
    await expect(ferry.createTopic('t', { retention: { ms: 1000, bytes: 5000 }, backoff: { kind: 'fixed', delayMs: 50 } })).rejects.toMatchObject({ code: 'TOPIC_CONFLICT', message: expect.stringContaining('alterTopic') });
    await ferry.close();
  });

  it('a new dedupe window applies to the partition at once: 0 stores a repeated id again', async () => {
    const ferry = await memoryFerry(10).open();
    await ferry.createTopic('t');
    const p = ferry.producer();
    await p.publish('t', { value: 1, id: 'a' });
    await p.publish('t', { value: 2, id: 'a' });
    expect(await ferry.read('t')).toHaveLength(1);
    await ferry.alterTopic('t', { dedupWindowMs: 0 });
    await p.publish('t', { value: 3, id: 'b' });
    await p.publish('t', { value: 4, id: 'b' });
    expect((await ferry.read('t')).map((m) => m.value)).toEqual([1, 3, 4]);
    await ferry.close();
  });
});
