// A shard's worker dies mid-stream (killed abruptly): requests in flight fail with a retriable
// error, the shard restarts and recovers from its logs, producers retry with the same sequence
// numbers and consumers get unsettled messages again, so nothing confirmed is lost or doubled.
import { afterEach, describe, expect, it } from 'vitest';
import type { Ferry } from '../index.ts';
import { realFerry, until, type RealFerry } from './testing.ts';

describe('worker death', () => {
  let setup: RealFerry | undefined;
  let ferry: Ferry | undefined;
  afterEach(async () => {
    await ferry?.close();
    ferry = undefined;
    setup?.cleanup();
  });

  it('loses no confirmed message and appends none twice when a worker is killed under load', async () => {
    setup = realFerry(2);
    ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 4, ackTimeoutMs: 2000 });
    const producer = ferry.producer({ id: 'loader' });
    const total = 4000;
    const confirmed = new Set<number>();
    const publishing = (async () => {
      for (let i = 0; i < total; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => producer.publish('t', { value: i + j }).then(() => confirmed.add(i + j))));
      }
    })();
    const acked = new Set<number>();
    const workers = ferry.consumer<number>('workers', { topics: ['t'], maxInFlight: 128 });
    const consuming = workers.run(async (d) => void acked.add(d.value), { concurrency: 8 });

    await until(() => confirmed.size > total / 4);
    await setup.runtime!.killShard(0);
    await publishing; // every publish retried through the restart and was confirmed
    expect(confirmed.size).toBe(total);
    await until(() => acked.size === total, 30_000); // every message reached the group
    await workers.close();
    await consuming;

    // Each value is in the logs exactly once: a fresh group sees every one, none twice.
    const audit = ferry.consumer<number>('audit', { topics: ['t'], maxInFlight: 512, pollWaitMs: 200 });
    const seen = new Map<number, number>();
    const auditing = audit.run(async (d) => void seen.set(d.value, (seen.get(d.value) ?? 0) + 1), { concurrency: 4 });
    await until(() => seen.size === total, 30_000);
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    await audit.close();
    await auditing;
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(seen.size).toBe(total);
  });

  it('stops a crash loop with SHARD_FAILED instead of spinning', async () => {
    setup = realFerry(1, { maxRestarts: 2, windowMs: 60_000, backoffMs: 10 });
    ferry = await setup.open();
    await ferry.createTopic('t');
    const producer = ferry.producer();
    await producer.publish('t', { value: 0 });
    for (let i = 0; i < 3; i++) {
      await setup.runtime!.killShard(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(producer.publish('t', { value: 1 })).rejects.toMatchObject({ code: 'SHARD_FAILED', retriable: false });
  });
});
