import { describe, expect, it } from 'vitest';
import { memoryFerry } from './testing.ts';

describe('redrive', () => {
  it('moves dead letters back to their topic once, with their original value, key and headers', async () => {
    const setup = memoryFerry(51);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [
      { value: 'a', key: 'k', headers: { h: '1' } },
      { value: 'b' },
    ]);
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ error: 'bad' });
    await (await c.next())!.nack({ error: 'bad' });
    await c.close();
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
    await ferry.close();
  });
});
