// What survives a restart of the engine: attempt counts, retry timers, delayed messages, acks.
import { describe, expect, it } from 'vitest';
import { flush, memoryFerry, pendingNext } from './testing.ts';

describe('durability across restarts', () => {
  it('keeps attempt counts, last errors and retry times', async () => {
    const setup = memoryFerry(11);
    let ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 10 });
    await ferry.producer().publish('t', { value: 'v' });
    let c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ delayMs: 5000, error: 'first' });
    await ferry.close();

    ferry = await setup.open();
    c = ferry.consumer('g', { topics: ['t'] });
    const got = pendingNext(c);
    setup.clock.advance(4000);
    await flush();
    expect(got.value).toBeUndefined(); // the retry timer survived: still 1 s to go
    setup.clock.advance(1000);
    await flush();
    expect(got.value).toMatchObject({ attempt: 2, value: 'v' });
    await ferry.close();
  });

  it('delays a delayed message until its time, across a restart', async () => {
    const setup = memoryFerry(12);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 'later', delayMs: 60_000 }, { value: 'now' }]);
    let c = ferry.consumer('g', { topics: ['t'] });
    const now = (await c.next())!;
    expect(now.value).toBe('now');
    await now.ack();
    await ferry.close();

    ferry = await setup.open();
    c = ferry.consumer('g', { topics: ['t'] });
    const got = pendingNext(c);
    setup.clock.advance(59_000);
    await flush();
    expect(got.value).toBeUndefined();
    setup.clock.advance(1_000);
    await flush();
    expect(got.value).toMatchObject({ value: 'later', attempt: 1 });
    await ferry.close();
  });

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
    await ferry.close();
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
    await ferry.close();
  });
});
