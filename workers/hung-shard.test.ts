// A hung worker thread (a busy loop, issue 9 §2): the heartbeat finds it, the shard is terminated
// and restarted from its log, requests in flight fail at once with a retriable error instead of
// hanging, nothing confirmed is lost, and close() returns. And the settle queue on threads: an ack
// given before close() is never overtaken by the release close() sends.
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
import { workerRuntimeFactory } from './index.ts';
import { realFerry, type RealFerry } from '../test-support/real-ferry.ts';
import type { WorkerRuntime } from './worker-runtime.ts';

let setup: RealFerry | undefined;
let ferry: Ferry | undefined;
afterEach(async () => {
  await ferry?.close({ timeoutMs: 0 });
  ferry = undefined;
  setup?.cleanup();
  setup = undefined;
});

describe('a hung shard', () => {
  it('is found by its heartbeat, terminated and restarted; requests fail fast and retriably; nothing confirmed is lost', async () => {
    setup = realFerry(1);
    let runtime: WorkerRuntime | undefined; // a generous hang threshold: a loaded machine answers late
    ferry = await Ferry.open({ dir: setup.dir, threads: 1 }, (o) => (runtime = workerRuntimeFactory({ heartbeat: { intervalMs: 100, hungAfterMs: 3000 } })(o) as WorkerRuntime));
    await ferry.createTopic('t');
    const producer = ferry.producer({ id: 'p' });
    await producer.publishMany('t', Array.from({ length: 20 }, (_, i) => ({ value: i })));
    const startedAt = Date.now();
    await runtime!.killShard(0, 'hang'); // resolves once the shard has seen the death
    const tookMs = Date.now() - startedAt;
    expect(tookMs).toBeLessThan(10_000); // before: never (the busy worker answered nothing, forever)
    expect(runtime!.shardHealth(0)).toMatchObject({ restarts: 1, failed: false });
    await producer.publishMany('t', Array.from({ length: 20 }, (_, i) => ({ value: 20 + i })));
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 64 });
    const seen: number[] = [];
    for (let i = 0; i < 40; i++) {
      const d = (await consumer.next())!;
      seen.push(d.value);
      await d.ack();
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
  });
});

describe('settling on worker threads', () => {
  it('an ack given just before close() is kept: the release close() sends never overtakes it', async () => {
    setup = realFerry(2);
    ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2 });
    await ferry.producer().publishMany('t', Array.from({ length: 40 }, (_, i) => ({ value: i, key: `k${i}` })));
    for (let round = 0; round < 5; round++) {
      const c1 = ferry.consumer<number>(`g${round}`, { topics: ['t'], maxInFlight: 40 });
      const acked: number[] = [];
      const acks: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const d = (await c1.next())!;
        acked.push(d.value);
        acks.push(d.ack()); // not awaited: close() follows at once
      }
      await c1.close({ timeoutMs: 0 });
      await Promise.all(acks); // before: some were refused as stale (the release went first)
      const c2 = ferry.consumer<number>(`g${round}`, { topics: ['t'], maxInFlight: 40 });
      const rest: number[] = [];
      for (let i = 0; i < 20; i++) {
        const d = (await c2.next())!;
        rest.push(d.value);
        await d.ack();
      }
      expect(rest.filter((v) => acked.includes(v))).toEqual([]); // no acked message came again
      expect([...acked, ...rest].sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
      await c2.close();
    }
  });
});

describe('the port to a shard', () => {
  it('fails a request that cannot be cloned alone, with a typed error; the requests of the same turn go through', async () => {
    setup = realFerry(1);
    ferry = await setup.open();
    await ferry.createTopic('t');
    const runtime = setup.runtime!;
    const good = runtime.call({ op: 'ensureGroup', topic: 't', partition: 0, group: 'g', ordering: 'none' });
    const bad = runtime.call({ op: 'ensureGroup', topic: 't', partition: 0, group: (() => 'g') as unknown as string, ordering: 'none' });
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(good).resolves.toBeNull();
  });
});
