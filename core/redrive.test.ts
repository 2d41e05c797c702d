import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';

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
    expect(a.headers).toEqual({ h: '1', 'ferry-redriven-from': expect.stringMatching(/^t\.dlq\/0\/\d+$/) });
    expect(a.attempt).toBe(1);
    expect(a.deadLetter).toBeUndefined();
  });
});

describe('redrive, to whom and how', () => {
  it('returns a letter to the group that dead-lettered it only, keeping its id and key; refuses a topic that is not a dead-letter topic, and a bad limit', async () => {
    const setup = memoryFerry(41);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publish('t', { value: 'x', key: 'k', id: 'order-1' });
    const billing = ferry.consumer('billing', { topics: ['t'] });
    const audit = ferry.consumer('audit', { topics: ['t'] });
    await (await audit.next())!.ack(); // audit handled it
    await (await billing.next())!.nack({ error: 'card declined' }); // billing dead-letters it
    await expect(ferry.redrive('t')).rejects.toMatchObject({ code: 'NOT_A_DEAD_LETTER_TOPIC' });
    await expect(ferry.redrive('t.dlq', { limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.redrive('t.dlq', { limit: 1, from: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await ferry.redrive('t.dlq')).toBe(1);
    const back = (await billing.next())!;
    expect(back).toMatchObject({ value: 'x', key: 'k', id: 'order-1', attempt: 1, partition: 0 });
    await back.ack();
    const nothing = pendingNext(audit); // before: audit got the copy too
    await flush();
    expect(nothing.value).toBeUndefined();
    expect(await ferry.redrive('t.dlq')).toBe(0);
    await ferry.close({ timeoutMs: 0 });
  });
});
