// d.once(key), the receiver-side dedupe helper (issue 13), on both runtimes: a key recorded with
// an ack answers false from then on (also after a restart and through a transaction's ack); a key
// whose delivery was not acked is free again; a key held by a delivery in flight is busy; the
// store is bounded by count (oldest evicted) and by age.
import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from './consumer.ts';
import type { Ferry } from './ferry.ts';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';

describe.each(engineVariants)('d.once ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  async function start(ferry: Ferry, values: string[]): Promise<() => Promise<Delivery>> {
    await ferry.createTopic('t', { maxDeliveries: 10 });
    await ferry.producer().publishMany('t', values.map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'], pollWaitMs: 10 });
    return async () => (await c.next())!;
  }

  it('answers false for a key recorded with an ack, also after a restart', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    const next = await start(ferry, ['a', 'a-again', 'b']);
    const first = await next();
    expect(await first.once('order-1')).toBe(true);
    await first.ack();
    const repeat = await next();
    expect(await repeat.once('order-1')).toBe(false);
    await repeat.ack();
    await ferry.close();
    ferry = await setup.open();
    await ferry.producer().publish('t', { value: 'after-restart' });
    const c = ferry.consumer('g', { topics: ['t'], pollWaitMs: 10 });
    const b = (await c.next())!;
    expect(b.value).toBe('b');
    expect(await b.once('order-1')).toBe(false);
    expect(await b.once('order-2')).toBe(true);
  });

  it('frees a key whose delivery was nacked, and reports one held by a delivery in flight as busy', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    const next = await start(ferry, ['x', 'y']);
    const x = await next();
    const y = await next();
    expect(await x.once('k')).toBe(true);
    await expect(y.once('k')).rejects.toMatchObject({ code: 'ONCE_KEY_BUSY', retriable: true });
    await x.nack({ delayMs: 0 });
    expect(await y.once('k')).toBe(true); // x no longer holds it: not acked, not recorded
    await y.ack();
    const xAgain = await next();
    expect(xAgain.value).toBe('x');
    expect(await xAgain.once('k')).toBe(false);
  });

  it('records a key with the ack of a transaction', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    const next = await start(ferry, ['p', 'q']);
    const p = await next();
    expect(await p.once('payment-9')).toBe(true);
    await ferry.transaction((tx) => void tx.ack(p));
    // The partitions apply a commit right after its decision: until then the key is still p's (busy).
    const q = await next();
    let answer: boolean | undefined;
    for (let tries = 0; answer === undefined && tries < 50; tries++) {
      answer = await q.once('payment-9').catch(async (e: { code?: string }) => {
        if (e.code !== 'ONCE_KEY_BUSY') throw e;
        await setup.elapse(20);
        return undefined;
      });
    }
    expect(answer).toBe(false);
  });

  it('keeps at most maxOnceKeys per group and partition, evicting the oldest, and each for onceKeyTtlMs', async () => {
    const setup = engine.setup();
    const ferry = await setup.open({ limits: { maxOnceKeys: 2, onceKeyTtlMs: 2000 } });
    const next = await start(ferry, ['1', '2', '3', '4', '5', '6']);
    for (const key of ['k1', 'k2', 'k3']) {
      const d = await next();
      expect(await d.once(key)).toBe(true);
      await d.ack();
    }
    const d4 = await next();
    expect(await d4.once('k3')).toBe(false);
    expect(await d4.once('k1')).toBe(true); // evicted: the oldest of three
    await d4.nack({ delayMs: 0 }); // not recorded
    await setup.elapse(2500);
    const d5 = await next();
    expect(await d5.once('k3')).toBe(true); // older than its ttl
  });
});

describe('the once-key store', () => {
  it('bounds claims: those of deliveries no longer leased go first, and a full store answers busy', async () => {
    const { OnceKeys } = await import('./once-keys.ts');
    const keys = new OnceKeys(2, 60_000);
    const leased = new Set([1, 2]);
    const live = (_offset: number, token: number): boolean => leased.has(token);
    expect(keys.check('g', 'a', 1, 1, 0, live)).toBe('first');
    expect(keys.check('g', 'b', 2, 2, 0, live)).toBe('first');
    expect(keys.check('g', 'c', 3, 3, 0, live)).toBe('busy'); // both claims live: full
    leased.delete(1); // its delivery was nacked: its claim may go
    leased.add(3);
    expect(keys.check('g', 'c', 3, 3, 0, live)).toBe('first');
    expect(keys.check('g', 'a', 4, 4, 0, live)).toBe('busy'); // 'b' and 'c' hold the store
  });
});
