import { describe, expect, it } from 'vitest';
import { DeliveryBuffer } from './delivery-buffer.ts';
import type { DeliveredMessage } from './partition-api.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

const message = (offset: number, attempt: number) => ({ offset, attempt }) as DeliveredMessage;

describe('a consumer\'s delivery buffer', () => {
  it('hands out redeliveries before fresh messages, each lane in order, with its fetch', () => {
    const buffer = new DeliveryBuffer<string>(5);
    expect(buffer.push(message(1, 1), 'a')).toBe(true);
    expect(buffer.push(message(2, 1), 'a')).toBe(true);
    expect(buffer.push(message(0, 2), 'b')).toBe(true);
    expect(buffer.push(message(3, 3), 'c')).toBe(true);
    expect(buffer.push(message(4, 1), 'c')).toBe(true);
    expect(buffer.push(message(5, 1), 'c')).toBe(false); // full: both lanes count
    expect(buffer.size).toBe(5);
    const out: string[] = [];
    for (let m = buffer.shift(); m; m = buffer.shift()) out.push(`${m.offset}${buffer.from}`);
    expect(out).toEqual(['0b', '3c', '1a', '2a', '4c']);
    expect(buffer.size).toBe(0);
  });

  // W4 measured a nack's redelivery at 23 ms (delay 0, prefetch 1,000): the retry waited behind
  // the whole buffer of fresh messages.
  it('a nacked message comes back before the fresh messages already in the consumer\'s buffer', async () => {
    const setup = memoryFerry(61);
    const ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 1, backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publishMany('t', Array.from({ length: 40 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 40 });
    const first = (await consumer.next())!;
    expect(first.value).toBe(0);
    await first.nack();
    const order: string[] = [];
    for (let i = 0; i < 39; i++) {
      const d = (await consumer.next())!;
      order.push(`${d.value}@${d.attempt}`);
      await d.ack();
      await flush(); // the pump refills once a quarter of the window is free
    }
    const retriedAt = order.indexOf('0@2');
    expect(retriedAt).toBeGreaterThanOrEqual(0);
    expect(retriedAt).toBeLessThan(15); // before: after all 39 fresh ones
    await consumer.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });
});
