// consumer.run(handler(d, tx), { exactlyOnce: true }) (issue 13), on both runtimes: each input's
// outputs appear exactly once, only once committed with the input's ack, carrying their source;
// a handler that throws or outlives its lease publishes nothing, and the input comes again.
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from './consumer.ts';
import type { Ferry } from './ferry.ts';
import { engineHarness, engineVariants, type EngineSetup } from '../test-support/engine-harness.ts';

/** Reads every message of `topic` with a fresh group until `expected` arrived (and a moment more). */
async function outputs(ferry: Ferry, setup: EngineSetup, topic: string, expected: number): Promise<Delivery[]> {
  const c = ferry.consumer('audit', { topics: [topic], pollWaitMs: 10, maxInFlight: 256 });
  const seen: Delivery[] = [];
  const running = c.run((d) => void seen.push(d), { concurrency: 8 });
  await setup.eventually(() => seen.length >= expected);
  await setup.settle();
  await c.close({ timeoutMs: 0 });
  await running;
  return seen;
}

describe.each(engineVariants)('exactlyOnce consumers ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it("commits each input's outputs with its ack, exactly once, with their source in headers", async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('in', { partitions: 2 });
    await ferry.createTopic('out', { partitions: 3 });
    await ferry.producer().publishMany('in', Array.from({ length: 20 }, (_, i) => ({ value: i, key: `k${i}` })));
    const failedOnce = new Set<number>();
    const consumer = ferry.consumer<number>('pipeline', { topics: ['in'], pollWaitMs: 10 });
    let handled = 0;
    const running = consumer.run(
      async (d, tx) => {
        await tx.publish('out', { value: `${d.value}a`, key: `k${d.value}` });
        await tx.publish('out', { value: `${d.value}b` });
        // Every third input fails its first attempt after publishing: nothing of that attempt may show.
        if (d.value % 3 === 0 && !failedOnce.has(d.value)) {
          failedOnce.add(d.value);
          throw new Error('transient');
        }
        handled++;
      },
      { exactlyOnce: true, concurrency: 4 },
    );
    for (let i = 0; i < 100 && handled < 20; i++) await setup.elapse(100); // the failed ones come back after their backoff
    expect(handled).toBe(20);
    // A graceful close: the last handlers have returned, but their commits may still be on the way.
    // With timeoutMs 0 the close handed those leases back at once, the commit was refused and the
    // input came back uncommitted (a CI flake on worker threads: 38 of 40 outputs, one input left).
    await consumer.close();
    await running;
    const out = await outputs(ferry, setup, 'out', 40);
    expect(out.map((d) => d.value).sort()).toEqual(Array.from({ length: 20 }, (_, i) => [`${i}a`, `${i}b`]).flat().sort());
    for (const d of out) expect(d.headers).toMatchObject({ 'ferry-source-topic': 'in', 'ferry-source-partition': expect.stringMatching(/^[01]$/), 'ferry-source-offset': expect.stringMatching(/^\d+$/) });
    // Every input is acked: the group has nothing left.
    const again = ferry.consumer('pipeline', { topics: ['in'], pollWaitMs: 10 });
    const left: unknown[] = [];
    const draining = again.run((d) => void left.push(d.value));
    await setup.settle();
    await again.close({ timeoutMs: 0 });
    await draining;
    expect(left).toEqual([]);
  });

  it('publishes nothing for a handler that outlived its lease; the input comes again and commits once', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('in', { ackTimeoutMs: 300 });
    await ferry.createTopic('out');
    await ferry.producer().publish('in', { value: 'slow' });
    const consumer = ferry.consumer<string>('pipeline', { topics: ['in'], pollWaitMs: 10 });
    const attempts: number[] = [];
    let done = false;
    let outlived!: () => void;
    const firstWaits = new Promise<void>((resolve) => (outlived = resolve));
    const running = consumer.run(
      async (d, tx) => {
        attempts.push(d.attempt);
        await tx.publish('out', { value: `${d.value}-${d.attempt}` });
        if (d.attempt === 1) await firstWaits; // held past its lease
        done = d.attempt > 1;
      },
      { exactlyOnce: true, concurrency: 2 },
    );
    await setup.eventually(() => attempts.length === 1);
    await setup.elapse(700); // the lease runs out; the message is redelivered to the other handler
    await setup.eventually(() => done);
    outlived(); // the first attempt resolves now: its commit must fail, publishing nothing
    await setup.settle();
    await consumer.close({ timeoutMs: 0 });
    await running;
    expect((await outputs(ferry, setup, 'out', 1)).map((d) => d.value)).toEqual(['slow-2']);
  });
});
