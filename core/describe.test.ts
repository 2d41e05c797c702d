import { describe, expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

describe('ferry.describe()', () => {
  it('lists topics with options, offsets, disk use and groups, and groups with their members here and lag per partition', async () => {
    const setup = memoryFerry(91);
    const ferry = await setup.open();
    await ferry.createTopic('orders', { partitions: 2 });
    await ferry.producer().publishMany('orders', [1, 2, 3].map((value) => ({ value, key: `k${value}` })));
    const c = ferry.consumer('billing', { topics: ['orders'] });
    await (await c.next())!.ack();
    await flush();
    const d = await ferry.describe();
    expect(d.topics.map((t) => t.name).sort()).toEqual(['orders', 'orders.dlq']);
    const orders = d.topics.find((t) => t.name === 'orders')!;
    expect(orders).toMatchObject({ deadLetterOf: [], groups: ['billing'] });
    expect(orders.options.partitions).toBe(2);
    expect(orders.partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(orders.logBytes).toBeGreaterThan(0);
    expect(d.topics.find((t) => t.name === 'orders.dlq')!.deadLetterOf).toEqual(['orders']);
    const billing = await ferry.describeGroup('billing');
    expect(billing.members).toEqual([{ topics: ['orders'] }]);
    expect(billing.topics).toHaveLength(1);
    expect(billing.topics[0]).toMatchObject({ topic: 'orders', acked: 1, lag: 2 });
    expect(billing.topics[0]!.partitions).toHaveLength(2);
    expect((await ferry.describeTopic('orders')).name).toBe('orders');
    await expect(ferry.describeTopic('nope')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(ferry.describeGroup('nope')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    await c.close({ timeoutMs: 0 });
    expect((await ferry.describeGroup('billing')).members).toEqual([]);
    await ferry.close({ timeoutMs: 0 });
  });
});
