import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { realFerry } from '../test-support/real-ferry.ts';

describe.each(engineVariants)('ferry.metrics() ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('counts publishes, duplicates, deliveries, acks, nacks, redeliveries and dead letters per topic, partition and group, with in flight and lag', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 1, maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 0 } });
    const producer = ferry.producer();
    await producer.publishMany('t', [{ value: 1 }, { value: 2 }, { value: 3 }, { value: 4, id: 'x' }]);
    await producer.publish('t', { value: 5, id: 'x' }); // a repeated id: a duplicate, not stored
    const c = ferry.consumer('g', { topics: ['t'], maxInFlight: 1, ordering: 'partition' });
    const first = (await c.next())!;
    await first.nack({ error: 'transient' }); // redelivered after a nack
    const again = (await c.next())!;
    expect(again.attempt).toBe(2);
    await again.nack({ error: 'still bad' }); // maxDeliveries reached: dead-lettered
    await (await c.next())!.ack();
    await (await c.next())!.ack();
    const held = (await c.next())!; // in flight while the snapshot is taken
    await setup.eventually(() => true);
    let m = await ferry.metrics();
    await setup.eventually(() => true);
    // The dead letter's move is asynchronous: wait until it is counted.
    for (let i = 0; i < 100 && m.groups.find((g) => g.group === 'g')?.deadLettered !== 1; i++) {
      await setup.elapse(10);
      m = await ferry.metrics();
    }
    const topic = m.topics.find((x) => x.topic === 't')!;
    expect(topic).toMatchObject({ published: 4, duplicates: 1, logSegments: 1 });
    expect(topic.logBytes).toBeGreaterThan(0);
    expect(topic.partitions).toHaveLength(1);
    expect(m.topics.find((x) => x.topic === 't.dlq')).toMatchObject({ published: 1 });
    const g = m.groups.find((x) => x.group === 'g' && x.topic === 't')!;
    expect(g).toMatchObject({ delivered: 5, acked: 2, nacked: 2, redeliveredAfterNack: 1, redeliveredAfterLeaseExpiry: 0, deadLettered: 1, inFlight: 1, lag: 1 });
    expect(g.partitions[0]).toMatchObject({ partition: 0, backlog: 1, inFlight: 1, backlogEstimated: false });
    // Histograms: each stored batch confirmed, each message delivered a first time, each ack/nack after a handler took it.
    expect(m.engine.confirm.count).toBeGreaterThanOrEqual(2);
    expect(m.engine.deliver.count).toBe(4);
    expect(m.engine.handler.count).toBe(4);
    expect(m.engine.handler.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(m.engine.fsync.count).toBeGreaterThan(0);
    expect(m.engine.workerRestarts).toBe(0);
    expect(m.unavailable).toEqual([]);
    await held.ack();
    await setup.eventually(() => true);
    const after = await ferry.metrics();
    expect(after.groups.find((x) => x.group === 'g' && x.topic === 't')).toMatchObject({ acked: 3, inFlight: 0, lag: 0, lagAgeMs: 0 });
  });
});

describe('ferry.metrics() lag as age and delayed messages', () => {
  it('reports the age of the oldest unsettled message, unread messages as lag, and a message waiting for its retry as delayed', async () => {
    const setup = memoryFerry(7);
    const ferry = await setup.open();
    await ferry.createTopic('t', { backoff: { kind: 'fixed', delayMs: 60_000 } });
    await ferry.producer().publishMany('t', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const c = ferry.consumer('g', { topics: ['t'] });
    const a = (await c.next())!;
    setup.clock.advance(5_000);
    let m = await ferry.metrics();
    let g = m.groups.find((x) => x.group === 'g')!;
    expect(g.lag).toBe(3);
    expect(g.lagAgeMs).toBe(5_000);
    await a.nack(); // waits 60 s for its retry
    m = await ferry.metrics();
    g = m.groups.find((x) => x.group === 'g')!;
    expect(g.delayed).toBe(1);
    expect(g.redeliveredAfterNack).toBe(1);
    await ferry.close({ timeoutMs: 0 });
  });

  it('after a restart, messages acked before it count neither in the lag nor in its age (regression: replay keeps them as settled ahead of the cursor)', async () => {
    const setup = memoryFerry(9);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 'a' });
    setup.clock.advance(1000);
    await ferry.producer().publishMany('t', [{ value: 'b' }, { value: 'c' }]);
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.ack();
    await c.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open();
    setup.clock.advance(500);
    const g = (await ferry.metrics()).groups.find((x) => x.group === 'g')!;
    expect(g).toMatchObject({ lag: 2, lagAgeMs: 500 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('counts a lease that ran out while a handler held the message as a lease expiry, not a nack', async () => {
    const setup = memoryFerry(8);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1_000, backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publish('t', { value: 'a' });
    const c = ferry.consumer('g', { topics: ['t'] });
    await c.next(); // taken, never settled
    setup.clock.advance(1_500);
    const again = (await c.next())!;
    expect(again.attempt).toBe(2);
    const g = (await ferry.metrics()).groups.find((x) => x.group === 'g')!;
    expect(g).toMatchObject({ leasesExpired: 1, redeliveredAfterLeaseExpiry: 1, redeliveredAfterNack: 0, nacked: 0, delivered: 2 });
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('ferry.metrics() with worker threads', () => {
  it('counts a worker restart, and keeps the counts of partitions that did not restart', async () => {
    const real = realFerry(1, { maxRestarts: 3, windowMs: 60_000, backoffMs: 10 });
    const ferry = await real.open();
    try {
      await ferry.createTopic('t');
      await ferry.producer().publish('t', { value: 1 });
      const before = await ferry.metrics();
      expect(before.engine.workerRestarts).toBe(0);
      expect(before.topics.find((x) => x.topic === 't')!.published).toBe(1);
      await real.runtime!.killShard(0);
      let m = await ferry.metrics();
      for (let i = 0; i < 100 && (m.unavailable.length > 0 || m.topics.length === 0); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        m = await ferry.metrics();
      }
      expect(m.engine.workerRestarts).toBe(1);
      expect(m.unavailable).toEqual([]);
      // Counters run from when the partition opened: the restarted one starts again at 0.
      expect(m.topics.find((x) => x.topic === 't')!.published).toBe(0);
    } finally {
      await ferry.close();
      real.cleanup();
    }
  });
});
