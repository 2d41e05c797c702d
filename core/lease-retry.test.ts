import { describe, expect, it } from 'vitest';
import { StaleDeliveryError } from './errors.ts';
import { flush, memoryFerry, pendingNext } from './testing.ts';

describe('leases, retries and dead letters', () => {
  it('redelivers when a lease expires, and rejects the stale token of the first delivery', async () => {
    const setup = memoryFerry(1);
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 1000 });
    await ferry.producer().publish('jobs', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['jobs'] });
    const first = (await consumer.next())!;
    expect(first.attempt).toBe(1);
    setup.clock.advance(1001);
    await flush();
    const second = (await consumer.next())!;
    expect(second.offset).toBe(first.offset);
    expect(second.attempt).toBe(2);
    await expect(first.ack()).rejects.toBeInstanceOf(StaleDeliveryError);
    await second.ack();
    await expect(second.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    await ferry.close();
  });

  it('extend keeps a lease alive past ackTimeoutMs', async () => {
    const setup = memoryFerry(2);
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 1000 });
    await ferry.producer().publish('jobs', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['jobs'] });
    const d = (await consumer.next())!;
    setup.clock.advance(800);
    await d.extend(1000);
    setup.clock.advance(800);
    await flush();
    await d.ack(); // still ours: 1600 ms after delivery, within the extended lease
    await ferry.close();
  });

  it('nack waits the backoff, counts attempts, and dead-letters once after maxDeliveries with origin metadata', async () => {
    const setup = memoryFerry(3);
    const ferry = await setup.open();
    await ferry.createTopic('orders', { maxDeliveries: 3, backoff: { kind: 'fixed', delayMs: 100 } });
    const published = await ferry.producer().publish('orders', { value: { id: 7 }, key: 'cust-1', headers: { trace: 'abc' } });
    const consumer = ferry.consumer('billing', { topics: ['orders'] });
    const nextWithin = async (ms: number) => {
      const got = pendingNext(consumer);
      setup.clock.advance(ms - 1);
      await flush();
      expect(got.value).toBeUndefined(); // not before the backoff
      setup.clock.advance(1);
      await flush();
      return got.value!;
    };
    const first = (await consumer.next())!;
    expect(first.attempt).toBe(1);
    await first.nack({ error: 'boom 1' });
    const second = await nextWithin(100);
    expect(second.attempt).toBe(2);
    await second.nack({ error: 'boom 2' });
    const third = await nextWithin(100);
    expect(third.attempt).toBe(3);
    await third.nack({ error: 'boom 3' });
    await flush();
    const dlq = ferry.consumer('ops', { topics: ['orders.dlq'] });
    const letter = (await dlq.next())!;
    expect(letter.value).toEqual({ id: 7 });
    expect(letter.key).toBe('cust-1');
    expect(letter.headers).toMatchObject({ trace: 'abc' });
    expect(letter.deadLetter).toMatchObject({ topic: 'orders', partition: published.partition, offset: published.offset, group: 'billing', attempts: 3, lastError: 'boom 3' });
    expect(letter.deadLetter!.firstDeliveredAt).toBeLessThanOrEqual(letter.deadLetter!.lastDeliveredAt);
    await letter.ack();
    // Exactly once: nothing else in the dead-letter topic, and nothing left for the source group.
    let extra: unknown;
    void dlq.next().then((x) => (extra = x));
    void consumer.next().then((x) => (extra = x));
    setup.clock.advance(10_000);
    await flush();
    expect(extra).toBeUndefined();
    await ferry.close();
  });

  it('an explicit nack delay overrides the backoff', async () => {
    const setup = memoryFerry(4);
    const ferry = await setup.open();
    await ferry.createTopic('t', { backoff: { kind: 'fixed', delayMs: 10 } });
    await ferry.producer().publish('t', { value: 1 });
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ delayMs: 5000 });
    const again = pendingNext(c);
    setup.clock.advance(4999);
    await flush();
    expect(again.value).toBeUndefined();
    setup.clock.advance(1);
    await flush();
    expect(again.value).toMatchObject({ attempt: 2 });
    await ferry.close();
  });

  it('a closing consumer hands its leases back without charging an attempt', async () => {
    const setup = memoryFerry(5);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 1 }, { value: 2 }]);
    const c1 = ferry.consumer('g', { topics: ['t'] });
    const d = (await c1.next())!;
    await c1.close();
    await expect(d.ack()).rejects.toMatchObject({ code: 'CLOSED' });
    const c2 = ferry.consumer('g', { topics: ['t'] });
    const got = [(await c2.next())!, (await c2.next())!];
    expect(got.map((x) => x.attempt)).toEqual([1, 1]);
    expect(got.map((x) => x.value).sort()).toEqual([1, 2]);
    await ferry.close();
  });

  it('an abandoned consumer (a crash) keeps its leases until they expire, and that charges an attempt', async () => {
    const setup = memoryFerry(6);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000 });
    await ferry.producer().publish('t', { value: 1 });
    const dying = ferry.consumer('g', { topics: ['t'] });
    await dying.next();
    dying.abandon();
    expect(await dying.next()).toBeUndefined();
    const heir = ferry.consumer('g', { topics: ['t'] });
    const got = pendingNext(heir);
    await flush();
    expect(got.value).toBeUndefined(); // still leased to the dead one
    setup.clock.advance(1001);
    await flush();
    expect(got.value).toMatchObject({ value: 1, attempt: 2 });
    await ferry.close();
  });
});
