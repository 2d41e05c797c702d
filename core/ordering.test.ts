import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { pendingNext } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('ordering ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it("'key': a retry of a key holds back that key's later messages, other keys keep flowing", async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { backoff: { kind: 'fixed', delayMs: 300 } });
    await ferry.producer().publishMany('t', [
      { value: 'a1', key: 'a' },
      { value: 'a2', key: 'a' },
      { value: 'b1', key: 'b' },
      { value: 'b2', key: 'b' },
    ]);
    const c = ferry.consumer('g', { topics: ['t'], ordering: 'key' });
    const first = [(await c.next())!, (await c.next())!];
    expect(first.map((d) => d.value)).toEqual(['a1', 'b1']); // one per key in flight
    const nackedAt = setup.now();
    await first[0]!.nack(); // a1 fails
    await first[1]!.ack();
    const b2 = (await c.next())!;
    expect(b2.value).toBe('b2'); // key b flows on
    await b2.ack();
    // a2 must not overtake the retry of a1, which comes after the backoff.
    const retry = await setup.nextDue(c, nackedAt + 300);
    expect(retry).toMatchObject({ value: 'a1', attempt: 2 });
    await retry.ack();
    expect((await c.next())!.value).toBe('a2');
  });

  it("'partition': one message in flight per partition, in log order", async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'], ordering: 'partition' });
    let current = (await c.next())!;
    for (const expected of [2, 3]) {
      const next = pendingNext(c);
      await setup.settle();
      expect(next.value).toBeUndefined(); // nothing else until the one in flight settles
      await current.ack();
      await setup.eventually(() => next.value !== undefined);
      expect(next.value!.value).toBe(expected);
      current = next.value!;
    }
    await current.ack();
  });

  it('every consumer of a group must ask for the same ordering', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    const a = ferry.consumer('g', { topics: ['t'], ordering: 'key' });
    await a.next();
    const b = ferry.consumer('g', { topics: ['t'], ordering: 'none' });
    await expect(b.next()).rejects.toMatchObject({ code: 'GROUP_CONFLICT' });
  });
});
