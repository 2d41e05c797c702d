// ferry.transaction and half transactions (issue 13), on both runtimes: atomic across topics,
// partitions and groups; nothing visible before the commit, nothing of an abort ever; fencing of
// expired leases and of zombie half transactions; the bounds.
import { afterEach, describe, expect, it } from 'vitest';
import type { Consumer, Delivery } from './consumer.ts';
import type { Ferry } from './ferry.ts';
import { engineHarness, engineVariants, type EngineSetup } from '../test-support/engine-harness.ts';

/** Everything `group` can read from `topics` now (acked as it goes), by value. */
async function drain(ferry: Ferry, setup: EngineSetup, group: string, topics: string[], expected: number): Promise<unknown[]> {
  const c = ferry.consumer(group, { topics, pollWaitMs: 10 });
  const seen: unknown[] = [];
  const running = c.run(async (d) => void seen.push(d.value), { concurrency: 4 });
  if (expected > 0) await setup.eventually(() => seen.length >= expected);
  await setup.settle();
  await c.close({ timeoutMs: 0 });
  await running;
  return seen;
}

describe.each(engineVariants)('transactions ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  async function withInput(setup: EngineSetup, values: unknown[]): Promise<{ ferry: Ferry; consumer: Consumer }> {
    const ferry = await setup.open();
    await ferry.createTopic('in', { partitions: 2 });
    await ferry.createTopic('out', { partitions: 3 });
    await ferry.createTopic('audit');
    const producer = ferry.producer();
    for (const value of values) await producer.publish('in', { value, key: String(value) });
    return { ferry, consumer: ferry.consumer('work', { topics: ['in'], pollWaitMs: 10 }) };
  }

  it('publishes to several topics and partitions and acks, all at once', async () => {
    const setup = engine.setup();
    const { ferry, consumer } = await withInput(setup, ['a', 'b']);
    const a = (await consumer.next())!;
    const b = (await consumer.next())!;
    await ferry.transaction(async (tx) => {
      for (let i = 0; i < 6; i++) tx.publish('out', { value: `${String(a.value)}${i}`, key: String(i) });
      tx.publish('audit', { value: 'both' });
      tx.ack(a);
      tx.ack(b);
    });
    await expect(a.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' }); // settled by the commit
    expect((await drain(ferry, setup, 'readers', ['out', 'audit'], 7)).length).toBe(7);
    await consumer.close({ timeoutMs: 0 });
    // Both inputs were acked: the group gets nothing again, also after a restart.
    await ferry.close();
    const again = await setup.open();
    expect(await drain(again, setup, 'work', ['in'], 0)).toEqual([]);
    expect((await drain(again, setup, 'readers2', ['out'], 6)).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${String(a.value)}${i}`).sort());
  });

  it('publishes nothing and acks nothing when the function throws', async () => {
    const setup = engine.setup();
    const { ferry, consumer } = await withInput(setup, ['a']);
    const a = (await consumer.next())!;
    await expect(
      ferry.transaction((tx) => {
        tx.publish('out', { value: 'never' });
        tx.ack(a);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    await a.nack({ delayMs: 0 }); // the delivery is the handler's again: not settled by the failed transaction
    expect(await drain(ferry, setup, 'readers', ['out'], 0)).toEqual([]);
    await consumer.close({ timeoutMs: 0 });
    expect(await drain(ferry, setup, 'work', ['in'], 1)).toEqual(['a']);
  });

  it('fails with STALE_DELIVERY and changes nothing when an acked lease expired before the commit', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('in', { ackTimeoutMs: 200 });
    await ferry.createTopic('out');
    await ferry.producer().publish('in', { value: 'x' });
    const consumer = ferry.consumer('work', { topics: ['in'], pollWaitMs: 10 });
    const d = (await consumer.next())!;
    await setup.elapse(400); // the lease runs out
    await expect(
      ferry.transaction((tx) => {
        tx.publish('out', { value: 'late' });
        tx.ack(d);
      }),
    ).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    expect(await drain(ferry, setup, 'readers', ['out'], 0)).toEqual([]);
    await consumer.close({ timeoutMs: 0 });
    expect(await drain(ferry, setup, 'work', ['in'], 1)).toEqual(['x']); // redelivered, not acked
  });

  it('keeps a half transaction invisible until commit, and an aborted one for ever', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('orders');
    const kept = await ferry.beginTransaction({ id: 'order-1' });
    await kept.publish('orders', { value: 'one' });
    const dropped = await ferry.beginTransaction({ id: 'order-2' });
    await dropped.publish('orders', { value: 'two' });
    expect(await drain(ferry, setup, 'early', ['orders'], 0)).toEqual([]);
    await kept.commit();
    await dropped.abort();
    expect(await drain(ferry, setup, 'late', ['orders'], 1)).toEqual(['one']);
    await expect(dropped.commit()).rejects.toMatchObject({ code: 'TRANSACTION_FINISHED' });
  });

  it('fences a zombie: a newer begin with the same id aborts the older instance', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('orders');
    const zombie = await ferry.beginTransaction({ id: 'order-7' });
    await zombie.publish('orders', { value: 'zombie' });
    const current = await ferry.beginTransaction({ id: 'order-7' });
    await current.publish('orders', { value: 'current' });
    await expect(zombie.commit()).rejects.toMatchObject({ code: 'TRANSACTION_FENCED' });
    expect(() => zombie.publish('orders', { value: 'more' })).toThrow(expect.objectContaining({ code: 'TRANSACTION_FENCED' }));
    await current.commit();
    expect(await drain(ferry, setup, 'readers', ['orders'], 1)).toEqual(['current']);
  });

  it('bounds messages and bytes per transaction and open transactions per engine, with typed errors', async () => {
    const setup = engine.setup();
    const ferry = await setup.open({ limits: { maxTransactionMessages: 2, maxTransactionBytes: 1024, maxOpenTransactions: 1 } });
    await ferry.createTopic('out');
    await expect(
      ferry.transaction((tx) => {
        for (let i = 0; i < 3; i++) tx.publish('out', { value: i });
      }),
    ).rejects.toMatchObject({ code: 'TRANSACTION_TOO_LARGE', details: { what: 'messages' } });
    await expect(ferry.transaction((tx) => void tx.publish('out', { value: 'x'.repeat(2000) }))).rejects.toMatchObject({ code: 'TRANSACTION_TOO_LARGE', details: { what: 'bytes' } });
    const open = await ferry.beginTransaction({ id: 'held' });
    await expect(ferry.transaction(() => {})).rejects.toMatchObject({ code: 'TOO_MANY_TRANSACTIONS', retriable: true });
    await open.abort();
    await ferry.transaction((tx) => void tx.publish('out', { value: 'fits' }));
    expect(await drain(ferry, setup, 'readers', ['out'], 1)).toEqual(['fits']);
  });

  it('aborts a half transaction nobody decides within transactionTimeoutMs, freeing what it acked', async () => {
    const setup = engine.setup();
    const ferry = await setup.open({ transactionTimeoutMs: 300 });
    await ferry.createTopic('in');
    await ferry.createTopic('out');
    await ferry.producer().publish('in', { value: 'job' });
    const consumer = ferry.consumer('work', { topics: ['in'], pollWaitMs: 10 });
    const d: Delivery = (await consumer.next())!;
    const tx = await ferry.beginTransaction({ id: 'abandoned' });
    await tx.publish('out', { value: 'never' });
    await tx.ack(d);
    await setup.elapse(500);
    expect(tx.state).toBe('aborted');
    // It says why (the second new-user trial: "already aborted; start a new one" named no timeout).
    await expect(tx.commit()).rejects.toMatchObject({ code: 'TRANSACTION_FINISHED', message: expect.stringContaining('transactionTimeoutMs (300 ms)') });
    expect(await drain(ferry, setup, 'readers', ['out'], 0)).toEqual([]);
    await consumer.close({ timeoutMs: 0 });
    expect(await drain(ferry, setup, 'work', ['in'], 1)).toEqual(['job']);
  });
});
