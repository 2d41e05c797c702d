// A shard's worker dies mid-stream (issue 4): killed abruptly from outside, or from inside the
// way a real one dies (an uncaught exception, `process.exit`, running out of heap). The host
// survives; requests in flight fail at once with a retriable SHARD_CRASHED; the shard restarts and
// recovers from its logs; producers retry with the same sequence numbers and consumers get
// unsettled messages again, so nothing confirmed is lost or doubled; a crash loop ends in SHARD_FAILED.
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry, FerryError, ShardCrashedError } from '../index.ts';
import { workerRuntimeFactory, type FaultDrill, type WorkerRuntimeExtras } from './index.ts';
import { Shard } from './shard.ts';
import { realFerry, until, type RealFerry } from '../test-support/real-ferry.ts';
import type { WorkerRuntime } from './worker-runtime.ts';

let setup: RealFerry | undefined;
let ferry: Ferry | undefined;
afterEach(async () => {
  await ferry?.close();
  ferry = undefined;
  setup?.cleanup();
  setup = undefined;
});

/** One shard, so every partition is on the worker the drill kills. */
async function openOneShard(dir: string, extras: WorkerRuntimeExtras): Promise<{ ferry: Ferry; runtime: WorkerRuntime }> {
  let runtime: WorkerRuntime | undefined;
  const ferry = await Ferry.open({ dir, threads: 1 }, (o) => (runtime = workerRuntimeFactory(extras)(o) as WorkerRuntime));
  return { ferry, runtime: runtime! };
}

/** Reads the topic from the start with a fresh group; fails unless it holds `0..total-1`, each once. */
async function expectEveryValueOnce(ferry: Ferry, topic: string, total: number, withinMs = 5000): Promise<void> {
  const audit = ferry.consumer<number>('audit', { topics: [topic], maxInFlight: 512, pollWaitMs: 100 });
  const seen = new Map<number, number>();
  const auditing = audit.run(async (d) => void seen.set(d.value, (seen.get(d.value) ?? 0) + 1), { concurrency: 4 });
  await until(() => seen.size === total, withinMs);
  await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up
  await audit.close();
  await auditing;
  expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...Array(total).keys()]);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
}

describe('worker death, killed from outside', () => {
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
    await expectEveryValueOnce(ferry, 't', total, 30_000); // in the logs exactly once each
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

describe('worker death from inside the worker', () => {
  // withinMs: from the drill to the in-flight request's rejection (measured: ~10 ms; ~0.7 s to fill 48 MB).
  const kinds: { name: string; how: FaultDrill; exitCode?: number; extras: WorkerRuntimeExtras; withinMs: number; cause: RegExp; causeCode?: string }[] = [
    { name: 'an uncaught exception from a timer', how: 'throw', extras: {}, withinMs: 1000, cause: /fault drill: an uncaught exception/ },
    { name: 'process.exit(3)', how: 'exit', exitCode: 3, extras: {}, withinMs: 1000, cause: /exited with code: 3/ },
    // A clean exit code is still a crash: the shard was not told to stop.
    { name: 'process.exit(0)', how: 'exit', exitCode: 0, extras: {}, withinMs: 1000, cause: /exited with code: 0/ },
    { name: 'running out of heap', how: 'oom', extras: { maxWorkerHeapMb: 48 }, withinMs: 3000, cause: /memory limit/, causeCode: 'ERR_WORKER_OUT_OF_MEMORY' },
  ];

  it.each(kinds)('$name: fails in-flight requests at once, restarts, and keeps every confirmed message', async ({ how, exitCode, extras, withinMs, cause, causeCode }) => {
    setup = realFerry(1);
    const opened = await openOneShard(setup.dir, extras);
    ferry = opened.ferry;
    const { runtime } = opened;
    await ferry.createTopic('t', { partitions: 2 });
    await ferry.createTopic('idle');
    const producer = ferry.producer({ id: 'p' });
    await producer.publishMany('t', Array.from({ length: 50 }, (_, i) => ({ value: i })));

    // A long-poll parked in the worker: in flight when it dies, and it would wait 30 s otherwise.
    await runtime.call({ op: 'ensureGroup', topic: 'idle', partition: 0, group: 'g', ordering: 'none' });
    const parked = runtime.call({ op: 'fetch', topic: 'idle', partition: 0, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 30_000 } }).then(
      () => new Error('the parked fetch resolved'),
      (error: unknown) => error,
    );
    const killing = runtime.killShard(0, how, exitCode);
    const late = new Promise((resolve) => setTimeout(() => resolve(new Error(`the fetch was still in flight ${withinMs} ms after the drill`)), withinMs).unref());
    const error = await Promise.race([parked, late]);
    await killing;
    expect(error).toBeInstanceOf(ShardCrashedError);
    expect(error).toMatchObject({ code: 'SHARD_CRASHED', retriable: true });
    const why = (error as FerryError).cause as { message: string; code?: string };
    expect(why.message).toMatch(cause);
    if (causeCode) expect(why.code).toBe(causeCode);

    // The host is still here, the shard is back on a fresh worker, and nothing confirmed is lost.
    await producer.publishMany('t', Array.from({ length: 50 }, (_, i) => ({ value: 50 + i })));
    expect(runtime.shardHealth(0)).toEqual({ restarts: 1, failed: false });
    await expectEveryValueOnce(ferry, 't', 100);
  });

  it('ends a crash loop of drills in SHARD_FAILED, for waiting and later requests alike', async () => {
    setup = realFerry(1);
    const opened = await openOneShard(setup.dir, { restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: 10 } });
    ferry = opened.ferry;
    const { runtime } = opened;
    await ferry.createTopic('t');
    const producer = ferry.producer();
    await producer.publish('t', { value: 0 });
    await runtime.killShard(0, 'throw');
    await runtime.killShard(0, 'exit');
    expect(runtime.shardHealth(0)).toEqual({ restarts: 2, failed: false });
    await runtime.killShard(0, 'throw'); // the third death within the window: the budget is spent
    expect(runtime.shardHealth(0)).toEqual({ restarts: 2, failed: true });
    const failed = { code: 'SHARD_FAILED', retriable: false };
    await expect(producer.publish('t', { value: 1 })).rejects.toMatchObject(failed);
    await expect(runtime.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 0 } })).rejects.toMatchObject(failed);
    await runtime.killShard(0, 'throw'); // nothing left to kill: harmless
  });

  // The one death piscina reports only through its 'error' event: a worker that dies before any task
  // reaches it. Without the listener the host process would die; without taking the queued attach
  // task back, the shard would wait for it forever (requests and close() would hang).
  it('gives up on a worker that cannot even boot, with SHARD_FAILED, and the host survives', async () => {
    setup = realFerry(1);
    const limits = { maxUnsettledPerGroup: 1000, maxWaiters: 100, maxDedupIds: 1000, maxProducers: 100, checkpointEveryRecords: 1000, maxGroups: 10 };
    const config = { shard: 0, dir: setup.dir, fsync: 'none', fsyncIntervalMs: 0, segmentBytes: 1 << 20, repair: false, maxMessageBytes: 1 << 16, limits, seed: 1 } as const;
    const policy = { maxRestarts: 2, windowMs: 60_000, backoffMs: 10 };
    // 4 MB of heap is too little to load the engine (it needs about 10).
    const shard = new Shard(0, config, { onUpcall: async () => {}, reopenRequests: () => [] }, policy, { maxOldGenerationSizeMb: 4 });
    const request = { op: 'ping' } as const;
    await expect(shard.request(request, 'ping', 10_000)).rejects.toMatchObject({ code: 'SHARD_CRASHED', retriable: true });
    await until(() => shard.health.failed, 3000);
    expect(shard.health).toEqual({ restarts: 2, failed: true });
    const failed = await shard.request(request, 'ping', 10_000).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'SHARD_FAILED', retriable: false });
    expect((failed as FerryError).cause).toMatchObject({ code: 'ERR_WORKER_OUT_OF_MEMORY' });
    await shard.close();
  });

  it('refuses a bad drill or heap cap with INVALID_ARGUMENT', async () => {
    expect(() => workerRuntimeFactory({ maxWorkerHeapMb: 4 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    setup = realFerry(1);
    const opened = await openOneShard(setup.dir, {});
    ferry = opened.ferry;
    const invalid = { code: 'INVALID_ARGUMENT' };
    // Without a heap cap the oom drill would grow the worker to V8's default limit, gigabytes.
    await expect(opened.runtime.killShard(0, 'oom')).rejects.toMatchObject(invalid);
    await expect(opened.runtime.killShard(0, 'melt' as FaultDrill)).rejects.toMatchObject(invalid);
    await expect(opened.runtime.killShard(1)).rejects.toMatchObject(invalid);
    expect(opened.runtime.shardHealth(0)).toEqual({ restarts: 0, failed: false });
  });
});
