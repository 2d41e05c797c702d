// What survives a restart of the engine: attempt counts, retry timers, delayed messages, acks.
import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';

// The delays outlast a restart on worker threads (well under a second), so the retry is still
// pending when the engine comes back.
describe.each(engineVariants)('durability across a close and reopen ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('keeps attempt counts and retry times', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 10 });
    await ferry.producer().publish('t', { value: 'v' });
    let c = ferry.consumer('g', { topics: ['t'] });
    const d = (await c.next())!;
    const nackedAt = setup.now();
    await d.nack({ delayMs: 2000, error: 'first' });
    await ferry.close({ timeoutMs: 0 });

    ferry = await setup.open();
    c = ferry.consumer('g', { topics: ['t'] });
    // The retry timer survived: not before its time, and then as attempt 2.
    expect(await setup.nextDue(c, nackedAt + 2000)).toMatchObject({ attempt: 2, value: 'v' });
  });

  it('delays a delayed message until its time, across a restart', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t');
    const publishedAt = setup.now();
    await ferry.producer().publishMany('t', [{ value: 'later', delayMs: 2000 }, { value: 'now' }]);
    let c = ferry.consumer('g', { topics: ['t'] });
    const now = (await c.next())!;
    expect(now.value).toBe('now');
    await now.ack();
    await ferry.close({ timeoutMs: 0 });

    ferry = await setup.open();
    c = ferry.consumer('g', { topics: ['t'] });
    expect(await setup.nextDue(c, publishedAt + 2000)).toMatchObject({ value: 'later', attempt: 1 });
  });
});

// In-thread only: a power loss (dropping every unsynced byte) needs the fault-injecting memory
// disk, which worker threads cannot share. Close and reopen on both runtimes is covered above and
// in publish-consume.test.ts.
describe('durability across a power loss', () => {
  it('never redelivers a confirmed ack, even after a power loss', async () => {
    const setup = memoryFerry(13);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'] });
    for (let i = 0; i < 2; i++) await (await c.next())!.ack(); // resolved: durable
    setup.fs.crash('power');
    ferry = await setup.open();
    const again = ferry.consumer('g', { topics: ['t'] });
    const d = (await again.next())!;
    expect(d.value).toBe(3);
    const more = pendingNext(again);
    await flush();
    expect(more.value).toBeUndefined();
    await ferry.close({ timeoutMs: 0 });
  });

  it('a confirmed publish survives a power loss', async () => {
    const setup = memoryFerry(14);
    let ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2 });
    const results = await ferry.producer().publishMany('t', Array.from({ length: 20 }, (_, i) => ({ value: i })));
    expect(results).toHaveLength(20);
    setup.fs.crash('power');
    ferry = await setup.open();
    const c = ferry.consumer('g', { topics: ['t'] });
    const values: number[] = [];
    for (let i = 0; i < 20; i++) values.push((await c.next())!.value as number);
    expect(values.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    await ferry.close({ timeoutMs: 0 });
  });
});
