// Keyless messages stick to one partition for STICKY_BYTES, then move to the next (issue 11, as
// Kafka's sticky partitioner): one message to each partition in turn made every partition write
// and fdatasync its own tiny batch at low rates (publish -> deliver at 5,000 msg/s took 6.3 ms at
// the median with 4 partitions against 2.6 ms with 1). Keys and ids still pick their partition.
// A stint also lasts at least 5 ms (at most 1 MiB): under load 16 KiB passed in well under a
// millisecond and every partition synced a batch of its own in each window.
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';

const value = 'x'.repeat(100);

describe('keyless messages', () => {
  it('fill one partition for about 16 KiB before moving to the next, and still reach every partition', async () => {
    const memory = memoryFerry(3);
    const ferry = await memory.open();
    await ferry.createTopic('t', { partitions: 4 });
    const producer = ferry.producer();
    const results = [];
    for (let i = 0; i < 12; i++) {
      results.push(...(await producer.publishMany('t', Array.from({ length: 50 }, () => ({ value })))));
      memory.clock.advance(5); // slower than 16 KiB in 5 ms: the bytes end each stint
    }
    const runs: { partition: number; count: number }[] = [];
    for (const r of results) {
      const last = runs.at(-1);
      if (last?.partition === r.partition) last.count++;
      else runs.push({ partition: r.partition, count: 1 });
    }
    expect(runs.map((r) => r.partition)).toEqual([0, 1, 2, 3, 0]); // one stint per partition, in turn
    for (const r of runs.slice(0, 4)) expect(r.count).toBeGreaterThan(100); // about 16 KiB of 100-byte values each
    const single = await producer.publish('t', { value }); // single calls share the stint
    expect(single.partition).toBe(0);
    await ferry.close();
  });

  it('under load stay on one partition for at least 5 ms, up to 1 MiB', async () => {
    const memory = memoryFerry(5);
    const ferry = await memory.open();
    await ferry.createTopic('t', { partitions: 4 });
    const producer = ferry.producer();
    const big = 'y'.repeat(4000);
    const partitionsOf = async (count: number): Promise<number[]> => (await producer.publishMany('t', Array.from({ length: count }, () => ({ value: big })))).map((r) => r.partition);
    const burst = await partitionsOf(100); // about 400 KB at one instant: one stint
    expect(new Set(burst)).toEqual(new Set([0]));
    const more = await partitionsOf(300); // the stint ends at 1 MiB however fast they come
    const firstElsewhere = more.findIndex((p) => p !== 0);
    expect(firstElsewhere).toBeGreaterThan(100);
    expect(firstElsewhere).toBeLessThan(200);
    expect(more[firstElsewhere]).toBe(1);
    memory.clock.advance(5);
    const later = await partitionsOf(10); // 5 ms on: the stint ends within its next 16 KiB
    const moved = later.indexOf(2);
    expect(moved).toBeGreaterThanOrEqual(0);
    expect(moved).toBeLessThanOrEqual(5); // 16 KiB is about four of these messages
    expect(later.slice(0, moved).every((p) => p === 1) && later.slice(moved).every((p) => p === 2)).toBe(true);
    await ferry.close();
  });

  it('keyed messages and messages with ids still go where their key or id hashes', async () => {
    const ferry = await memoryFerry(4).open();
    await ferry.createTopic('t', { partitions: 4 });
    const producer = ferry.producer();
    const keyed = await producer.publishMany('t', Array.from({ length: 40 }, (_, i) => ({ value, key: `k${i % 8}` })));
    const byKey = new Map<string, Set<number>>();
    keyed.forEach((r, i) => byKey.set(`k${i % 8}`, (byKey.get(`k${i % 8}`) ?? new Set()).add(r.partition)));
    for (const partitions of byKey.values()) expect(partitions.size).toBe(1); // each key on one partition
    expect(new Set(keyed.map((r) => r.partition)).size).toBeGreaterThan(1); // keys spread, not stuck
    await ferry.close();
  });
});
