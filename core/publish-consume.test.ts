import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';

describe.each(engineVariants)('publish and consume ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('delivers every published message to every group, with offsets and attempt 1, each key in publish order', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('orders', { partitions: 3 });
    const producer = ferry.producer();
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => producer.publish('orders', { value: { n: i }, key: `k${i % 7}` })));
    expect(new Set(results.map((r) => `${r.partition}/${r.offset}`)).size).toBe(60);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    for (const [group, ordering] of [['billing', 'none'], ['shipping', 'key']] as const) {
      const consumer = ferry.consumer(group, { topics: ['orders'], ordering });
      const seen: number[] = [];
      const byKey = new Map<string, number[]>();
      for await (const d of consumer) {
        expect(d.attempt).toBe(1);
        expect(d.topic).toBe('orders');
        const n = (d.value as { n: number }).n;
        seen.push(n);
        byKey.set(d.key!, [...(byKey.get(d.key!) ?? []), n]);
        await d.ack();
        if (seen.length === 60) break;
      }
      expect(seen.sort((a, b) => a - b)).toEqual([...Array(60).keys()]);
      if (ordering === 'key') for (const values of byKey.values()) expect(values).toEqual([...values].sort((a, b) => a - b));
      await consumer.close();
    }
  });

  it('routes a key to one stable partition', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t', { partitions: 8 });
    const producer = ferry.producer();
    const rs = await producer.publishMany('t', Array.from({ length: 10 }, () => ({ value: 1, key: 'customer-42' })));
    expect(new Set(rs.map((r) => r.partition)).size).toBe(1);
    expect(rs.map((r) => r.offset)).toEqual([...Array(10).keys()].map((i) => rs[0]!.offset + i));
  });

  it('survives a restart: acked messages stay acked, unacked ones come back', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('jobs');
    const producer = ferry.producer();
    await producer.publishMany('jobs', Array.from({ length: 10 }, (_, i) => ({ value: i })));
    let consumer = ferry.consumer('workers', { topics: ['jobs'] });
    for (let i = 0; i < 4; i++) await (await consumer.next())!.ack();
    await ferry.close({ timeoutMs: 0 });

    ferry = await setup.open();
    consumer = ferry.consumer('workers', { topics: ['jobs'] });
    const rest: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const d = (await consumer.next())!;
      rest.push(d.value);
      await d.ack();
    }
    expect(rest.sort()).toEqual([4, 5, 6, 7, 8, 9]);
    const more = consumer.next();
    await setup.settle();
    await ferry.close({ timeoutMs: 0 });
    expect(await more).toBeUndefined(); // nothing acked before the restart came back
  });
});
