import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from './engine-harness.ts';

describe.each(engineVariants)('redrive ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('moves dead letters back to their topic once, with their original value, key and headers', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [
      { value: 'a', key: 'k', headers: { h: '1' } },
      { value: 'b' },
    ]);
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ error: 'bad' });
    await (await c.next())!.nack({ error: 'bad' });
    await c.close();
    // Another group reading the dead letters (and acking them) does not take them from redrive.
    const ops = ferry.consumer('ops', { topics: ['t.dlq'] });
    for (let i = 0; i < 2; i++) await (await ops.next())!.ack();
    expect(await ferry.redrive('t.dlq')).toBe(2);
    expect(await ferry.redrive('t.dlq')).toBe(0); // nothing moved twice
    const again = ferry.consumer('g', { topics: ['t'] });
    const back = [(await again.next())!, (await again.next())!];
    expect(back.map((d) => d.value).sort()).toEqual(['a', 'b']);
    const a = back.find((d) => d.value === 'a')!;
    expect(a.key).toBe('k');
    expect(a.headers).toEqual({ h: '1' });
    expect(a.attempt).toBe(1);
    expect(a.deadLetter).toBeUndefined();
  });
});
