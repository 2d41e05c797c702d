// The engine's behaviour is the same in-thread (threads: 0) and on worker threads (threads: 2):
// one suite, run against both, on the real disk and clock (short timeouts, no sleeping on luck).
import { afterEach, describe, expect, it } from 'vitest';
import { FerryError, StaleDeliveryError, UnknownTopicError, ProducerFencedError, type Ferry } from '../index.ts';
import { realFerry, type RealFerry } from './testing.ts';

describe.each([0, 2])('engine with threads: %i', (threads) => {
  let setup: RealFerry;
  let ferry: Ferry | undefined;
  afterEach(async () => {
    await ferry?.close();
    ferry = undefined;
    setup?.cleanup();
  });
  const open = async () => {
    setup ??= realFerry(threads);
    ferry = await setup.open();
    return ferry;
  };

  it('publishes and delivers every message to every group, keyed ones in order', async () => {
    setup = realFerry(threads);
    const f = await open();
    await f.createTopic('orders', { partitions: 4 });
    const results = await f.producer().publishMany('orders', Array.from({ length: 200 }, (_, i) => ({ value: i, key: `k${i % 5}` })));
    expect(new Set(results.map((r) => `${r.partition}/${r.offset}`)).size).toBe(200);
    for (const group of ['a', 'b']) {
      const c = f.consumer<number>(group, { topics: ['orders'], ordering: 'key' });
      const seen = new Map<string, number[]>();
      for (let i = 0; i < 200; i++) {
        const d = (await c.next())!;
        seen.set(d.key!, [...(seen.get(d.key!) ?? []), d.value]);
        await d.ack();
      }
      for (const values of seen.values()) expect(values).toEqual([...values].sort((x, y) => x - y));
      expect([...seen.values()].flat().sort((x, y) => x - y)).toEqual([...Array(200).keys()]);
      await c.close();
    }
  });

  it('retries with backoff, dead-letters after maxDeliveries, and redrives', async () => {
    setup = realFerry(threads);
    const f = await open();
    await f.createTopic('jobs', { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 20 } });
    await f.producer().publish('jobs', { value: 'poison', headers: { h: 'v' } });
    const c = f.consumer('workers', { topics: ['jobs'] });
    const first = (await c.next())!;
    await first.nack({ error: 'bad input' });
    const second = (await c.next())!;
    expect(second.attempt).toBe(2);
    await second.nack({ error: 'still bad' });
    const letter = (await f.consumer('ops', { topics: ['jobs.dlq'] }).next())!;
    expect(letter.deadLetter).toMatchObject({ topic: 'jobs', attempts: 2, lastError: 'still bad', group: 'workers' });
    expect(letter.headers).toMatchObject({ h: 'v' });
    await letter.ack(); // by group 'ops': the letter stays in the topic for other groups and redrive
    expect(await f.redrive('jobs.dlq')).toBe(1);
    const back = (await c.next())!;
    expect(back).toMatchObject({ value: 'poison', attempt: 1, headers: { h: 'v' } });
    await back.ack();
  });

  it('keeps acks across a restart and rejects stale tokens as typed errors', async () => {
    setup = realFerry(threads);
    let f = await open();
    await f.createTopic('t', { ackTimeoutMs: 100 });
    await f.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
    const c = f.consumer<number>('g', { topics: ['t'] });
    const d = (await c.next())!;
    await d.ack();
    await expect(d.ack()).rejects.toBeInstanceOf(StaleDeliveryError);
    const held = (await c.next())!;
    await new Promise((r) => setTimeout(r, 150)); // let the lease lapse
    const error = await held.ack().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleDeliveryError);
    expect(error).toBeInstanceOf(FerryError);
    await f.close();
    f = await open();
    const again = f.consumer<number>('g', { topics: ['t'] });
    const values = [(await again.next())!, (await again.next())!];
    expect(values.map((x) => x.value).sort()).toEqual([1, 2, 3].filter((v) => v !== d.value));
    for (const x of values) await x.ack();
  });

  it('dedupes message ids and fences a reopened producer, with typed errors across the thread boundary', async () => {
    setup = realFerry(threads);
    const f = await open();
    await f.createTopic('t');
    const old = f.producer({ id: 'checkout' });
    const a = await old.publish('t', { value: 1, id: 'order-1' });
    expect(await old.publish('t', { value: 1, id: 'order-1' })).toEqual({ ...a, duplicate: true });
    const fresh = f.producer({ id: 'checkout' });
    await fresh.publish('t', { value: 2 });
    await expect(old.publish('t', { value: 3 })).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(fresh.publish('nope', { value: 1 })).rejects.toBeInstanceOf(UnknownTopicError);
  });

  it('holds delayed messages back, extends leases, and hands back a closing consumer\'s leases uncharged', async () => {
    setup = realFerry(threads);
    const f = await open();
    await f.createTopic('t', { ackTimeoutMs: 150 });
    const p = f.producer();
    const start = Date.now();
    await p.publish('t', { value: 'later', delayMs: 120 });
    await p.publish('t', { value: 'now' });
    const c = f.consumer<string>('g', { topics: ['t'] });
    const first = (await c.next())!;
    expect(first.value).toBe('now');
    await first.extend(400);
    const later = (await c.next())!;
    expect(later.value).toBe('later');
    expect(Date.now() - start).toBeGreaterThanOrEqual(110);
    await later.extend(400);
    await new Promise((r) => setTimeout(r, 200)); // past ackTimeoutMs, within the extensions
    await first.ack();
    await c.close(); // 'later' is handed back without charging an attempt
    const again = (await f.consumer<string>('g', { topics: ['t'] }).next())!;
    expect(again).toMatchObject({ value: 'later', attempt: 1 });
    await again.ack();
  });

  it("keeps one message per partition in flight under ordering 'partition', and reports bad nacks as typed errors", async () => {
    setup = realFerry(threads);
    const f = await open();
    await f.createTopic('t');
    await f.producer().publishMany('t', [1, 2].map((value) => ({ value })));
    const c = f.consumer<number>('g', { topics: ['t'], ordering: 'partition' });
    const first = (await c.next())!;
    let second: unknown;
    void c.next().then((d) => (second = d));
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBeUndefined();
    await expect(first.nack({ error: 'x'.repeat(5000) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await first.ack();
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toMatchObject({ value: 2 });
  });
});
