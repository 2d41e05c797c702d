// `for await (const d of consumer) d.ack()` without awaiting the ack is the fast loop (issue 11,
// docs/TUNING.md), so a refused ack must not be an unhandled rejection that ends the process (the
// new-user trial: a lease that ran out before the ack killed the service). The refusal still
// rejects the promise for whoever awaits it, and the consumer's onFault reports it, once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import type { ConsumerFault } from './consumer-fault.ts';

let unhandled: unknown[] = [];
const record = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', record);
});
afterEach(() => void process.off('unhandledRejection', record));

/** An engine on the memory disk with one message on topic `t`, leased to a consumer whose faults are collected. */
async function oneLeased(seed: number, ackTimeoutMs?: number) {
  const setup = memoryFerry(seed);
  const ferry = await setup.open();
  await ferry.createTopic('t', ackTimeoutMs === undefined ? {} : { ackTimeoutMs });
  await ferry.producer().publish('t', { value: 1 });
  const consumer = ferry.consumer<number>('g', { topics: ['t'] });
  const faults: ConsumerFault[] = [];
  consumer.onFault((f) => faults.push(f));
  const next = consumer.next();
  await flush();
  const d = (await next)!;
  const close = async (): Promise<void> => {
    await consumer.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  };
  return { setup, d, faults, close };
}

describe('an ack or nack nobody awaits', () => {
  it('refused because the lease ran out: no unhandled rejection, and onFault names the message', async () => {
    const { setup, d, faults, close } = await oneLeased(41, 200);
    for (let t = 0; t < 400; t += 10) {
      setup.clock.advance(10); // the lease runs out, and the message is leased again
      await flush(4);
    }
    void d.ack(); // not awaited, as in the fast loop
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 10)); // unhandled rejections are reported after a turn
    expect(unhandled).toEqual([]);
    expect(faults).toEqual([expect.objectContaining({ during: 'settle', topic: 't', partition: 0, offset: 0, attempt: 1, error: expect.objectContaining({ code: 'STALE_DELIVERY' }) })]);
    await close();
  });

  it('refused at once (acked twice): no unhandled rejection; an awaited refusal still rejects', async () => {
    const { d, faults, close } = await oneLeased(42);
    void d.ack();
    void d.ack(); // a second ack, not awaited
    await expect(d.nack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' }); // awaited: it rejects as before
    await flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(unhandled).toEqual([]);
    expect(faults.map((f) => f.during)).toEqual(['settle', 'settle']);
    await close();
  });
});
