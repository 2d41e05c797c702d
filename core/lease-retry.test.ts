import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { FerryError } from '../wal/index.ts';
import { StaleDeliveryError } from './errors.ts';
import { pendingNext } from '../test-support/memory-ferry.ts';

// Times are short so that the real-clock variant waits little, yet leases outlast a slow step of
// a loaded machine; the manual clock checks them to the millisecond.
describe.each(engineVariants)('leases, retries and dead letters ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('redelivers when a lease expires, and rejects the stale token of the first delivery', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 500 });
    await ferry.producer().publish('jobs', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['jobs'] });
    const leasedAt = setup.now();
    const first = (await consumer.next())!;
    expect(first.attempt).toBe(1);
    const second = await setup.nextDue(consumer, leasedAt + 500);
    expect(second.offset).toBe(first.offset);
    expect(second.attempt).toBe(2);
    await second.ack();
    const stale = await first.ack().catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleDeliveryError);
    expect(stale).toBeInstanceOf(FerryError);
    await expect(second.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
  });

  it('an ack after the lease ran out is stale, and the message comes again', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 300 });
    await ferry.producer().publish('jobs', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['jobs'], maxInFlight: 1 }); // fetches nothing more meanwhile
    const held = (await consumer.next())!;
    await setup.elapse(400); // the lease runs from when the partition heard the handler took it
    await expect(held.ack()).rejects.toBeInstanceOf(StaleDeliveryError);
    expect(await consumer.next()).toMatchObject({ value: 'x', attempt: 2 });
  });

  it('extend keeps a lease alive past ackTimeoutMs', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 600 });
    await ferry.producer().publish('jobs', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['jobs'] });
    const d = (await consumer.next())!;
    await setup.elapse(200);
    await d.extend(1000);
    await setup.elapse(500);
    await d.ack(); // still ours: 700 ms after delivery, within the extended lease
  });

  it('nack waits the backoff, counts attempts, and dead-letters once after maxDeliveries with origin metadata', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('orders', { maxDeliveries: 3, backoff: { kind: 'fixed', delayMs: 100 } });
    const published = await ferry.producer().publish('orders', { value: { id: 7 }, key: 'cust-1', headers: { trace: 'abc' } });
    const consumer = ferry.consumer('billing', { topics: ['orders'] });
    const first = (await consumer.next())!;
    expect(first.attempt).toBe(1);
    let nackedAt = setup.now();
    await first.nack({ error: 'boom 1' });
    const second = await setup.nextDue(consumer, nackedAt + 100);
    expect(second.attempt).toBe(2);
    nackedAt = setup.now();
    await second.nack({ error: 'boom 2' });
    const third = await setup.nextDue(consumer, nackedAt + 100);
    expect(third.attempt).toBe(3);
    await third.nack({ error: 'boom 3' });
    const dlq = ferry.consumer('ops', { topics: ['orders.dlq'] });
    const letter = (await dlq.next())!;
    expect(letter.value).toEqual({ id: 7 });
    expect(letter.key).toBe('cust-1');
    expect(letter.headers).toMatchObject({ trace: 'abc' });
    expect(letter.deadLetter).toMatchObject({ topic: 'orders', partition: published.partition, offset: published.offset, group: 'billing', attempts: 3, lastError: 'boom 3' });
    expect(letter.deadLetter!.firstDeliveredAt).toBeLessThanOrEqual(letter.deadLetter!.lastDeliveredAt);
    await letter.ack();
    // Exactly once: nothing else in the dead-letter topic, and nothing left for the source group.
    const extraLetter = pendingNext(dlq);
    const extraRetry = pendingNext(consumer);
    await setup.elapse(500); // five backoffs
    expect(extraLetter.value).toBeUndefined();
    expect(extraRetry.value).toBeUndefined();
  });

  it('an explicit nack delay overrides the backoff', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { backoff: { kind: 'fixed', delayMs: 10 } });
    await ferry.producer().publish('t', { value: 1 });
    const c = ferry.consumer('g', { topics: ['t'] });
    const d = (await c.next())!;
    const nackedAt = setup.now();
    await d.nack({ delayMs: 300 });
    expect(await setup.nextDue(c, nackedAt + 300)).toMatchObject({ attempt: 2 });
  });

  it('a closing consumer hands its leases back without charging an attempt', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 1 }, { value: 2 }]);
    const c1 = ferry.consumer('g', { topics: ['t'] });
    const d = (await c1.next())!;
    await c1.close({ timeoutMs: 0 }); // no time for the handler holding d
    await expect(d.ack()).rejects.toMatchObject({ code: 'CLOSED' });
    const c2 = ferry.consumer('g', { topics: ['t'] });
    const got = [(await c2.next())!, (await c2.next())!];
    expect(got.map((x) => x.attempt)).toEqual([1, 1]);
    expect(got.map((x) => x.value).sort()).toEqual([1, 2]);
  });

  it('an abandoned consumer (a crash) keeps its leases until they expire, and that charges an attempt', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 400 });
    await ferry.producer().publish('t', { value: 1 });
    const dying = ferry.consumer('g', { topics: ['t'] });
    const leasedAt = setup.now();
    await dying.next();
    dying.abandon();
    expect(await dying.next()).toBeUndefined();
    const heir = ferry.consumer('g', { topics: ['t'] });
    // Still leased to the dead one until leasedAt + ackTimeoutMs.
    expect(await setup.nextDue(heir, leasedAt + 400)).toMatchObject({ value: 1, attempt: 2 });
  });
});
