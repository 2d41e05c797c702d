// A half transaction one of whose parts failed is doomed (issue 13): its abort is recorded
// durably before the failure is reported, so after a crash the engine aborts it without asking
// resolveInDoubt, and an application whose own transaction committed (it answers 'commit') cannot
// commit it with a part missing. Its commit() rejects with TRANSACTION_ABORTED.
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.ts';
import type { Ferry } from './ferry.ts';
import { flush, memoryFerry, pendingNext, type MemoryFerrySetup } from '../test-support/memory-ferry.ts';

/**
 * An engine with `orders` and `in` (one message, leased to `work` for 200 ms), and a half
 * transaction that published to `orders` and then acked that delivery after its lease ran out.
 */
async function doomedHalf(memory: MemoryFerrySetup) {
  const ferry = await memory.open();
  await ferry.createTopic('orders');
  await ferry.createTopic('in', { ackTimeoutMs: 200 });
  await ferry.producer().publish('in', { value: 'job' });
  const consumer = ferry.consumer('work', { topics: ['in'], pollWaitMs: 10 });
  const d: Delivery = (await consumer.next())!;
  const tx = await ferry.beginTransaction({ id: 'order-5' });
  await tx.publish('orders', { value: 'order' }); // prepared, durable
  memory.clock.advance(400); // the lease runs out
  await flush();
  const ack = tx.ack(d); // its part fails: STALE_DELIVERY
  return { ferry, tx, ack };
}

/** What a fresh group receives from `topic` within a few polls. */
async function visible(ferry: Ferry, memory: MemoryFerrySetup, topic: string): Promise<unknown> {
  const next = pendingNext(ferry.consumer('readers', { topics: [topic], pollWaitMs: 10 }));
  for (let i = 0; i < 5 && !next.value; i++) {
    memory.clock.advance(50);
    await flush();
  }
  return next.value?.value;
}

/** Power loss, then an open whose check-back answers 'commit': whom it asked, and what `orders` shows. */
async function afterPowerLoss(memory: MemoryFerrySetup): Promise<{ asked: string[]; orders: unknown }> {
  memory.fs.crash('power');
  const asked: string[] = [];
  const reopened = await memory.open({ resolveInDoubt: (id) => (asked.push(id), 'commit') });
  await flush(40);
  const orders = await visible(reopened, memory, 'orders');
  await reopened.close();
  return { asked, orders };
}

describe('a half transaction whose part failed', () => {
  it('is aborted for good before the failure is reported: after a crash the check-back is not asked, and its commit cannot happen', async () => {
    const memory = memoryFerry(21);
    const { ack } = await doomedHalf(memory);
    await expect(ack).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    // The application saw the failure and died before aborting; its own transaction committed.
    expect(await afterPowerLoss(memory)).toEqual({ asked: [], orders: undefined });
  });

  it('rejects its commit, publishes and acks with TRANSACTION_ABORTED, the part failure as its cause', async () => {
    const memory = memoryFerry(22);
    const { ferry, tx, ack } = await doomedHalf(memory);
    await ack.catch(() => {});
    expect(tx.state).toBe('aborted');
    expect(() => tx.publish('orders', { value: 'more' })).toThrow(expect.objectContaining({ code: 'TRANSACTION_ABORTED' }));
    await expect(tx.commit()).rejects.toMatchObject({ code: 'TRANSACTION_ABORTED', cause: { code: 'STALE_DELIVERY' } });
    await tx.abort(); // already aborted: nothing to do
    expect(await visible(ferry, memory, 'orders')).toBeUndefined();
    await ferry.close();
  });

  it('rejects a commit that races the failing part with TRANSACTION_ABORTED, and records the abort before', async () => {
    const memory = memoryFerry(23);
    const { tx } = await doomedHalf(memory);
    await expect(tx.commit()).rejects.toMatchObject({ code: 'TRANSACTION_ABORTED', cause: { code: 'STALE_DELIVERY' } });
    expect(await afterPowerLoss(memory)).toEqual({ asked: [], orders: undefined });
  });
});
