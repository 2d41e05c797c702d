// The exactlyOnce handlers' transactions ready in one turn commit merged (issue 13): one prepare
// per partition and one decision for all of them, while each delivery keeps its own outcome (a
// handler that throws publishes nothing and is nacked alone; a member whose lease ran out fails
// alone and the others commit).
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.ts';
import type { Ferry } from './ferry.ts';
import type { Transaction } from './transaction.ts';
import { flush, memoryFerry, openIntercepting, type MemoryFerrySetup } from '../test-support/memory-ferry.ts';

/** An engine on the memory disk whose runtime counts the transactions prepared (distinct ids). */
async function counting(memory: MemoryFerrySetup): Promise<{ ferry: Ferry; prepared: Set<string> }> {
  const prepared = new Set<string>();
  const ferry = await openIntercepting(memory, (command) => void (command.op === 'txPrepare' && prepared.add(command.txId)));
  return { ferry, prepared };
}

/** Advances the manual clock in steps until `done()` holds (or gives up). */
async function until(memory: MemoryFerrySetup, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) {
    memory.clock.advance(20);
    await flush(5);
  }
}

/** Every value in `topic`, read by a fresh group. */
async function values(ferry: Ferry, memory: MemoryFerrySetup, topic: string): Promise<unknown[]> {
  const seen: unknown[] = [];
  const c = ferry.consumer(`audit-${topic}`, { topics: [topic], pollWaitMs: 10, maxInFlight: 64 });
  const running = c.run((d) => void seen.push(d.value), { concurrency: 8 });
  for (let i = 0; i < 20; i++) {
    memory.clock.advance(20);
    await flush(5);
  }
  await c.close({ timeoutMs: 0 });
  await running;
  return seen.sort();
}

/** Runs `handler` exactlyOnce over `topics` (concurrency 8) until `done()`; returns once closed. */
async function runUntil(ferry: Ferry, memory: MemoryFerrySetup, topics: string[], handler: (d: Delivery<string>, tx: Transaction) => Promise<void> | void, done: () => boolean): Promise<void> {
  const consumer = ferry.consumer<string>('pipeline', { topics, pollWaitMs: 10, maxInFlight: 16 });
  const running = consumer.run(handler, { exactlyOnce: true, concurrency: 8 });
  await until(memory, done);
  await consumer.close({ timeoutMs: 0 });
  await running;
}

describe('exactlyOnce commits merged across deliveries', () => {
  it('commits the handlers ready together as one transaction, each input with its outputs', async () => {
    const memory = memoryFerry(31);
    const { ferry, prepared } = await counting(memory);
    await ferry.createTopic('in');
    await ferry.createTopic('out', { partitions: 2 });
    await ferry.producer().publishMany('in', Array.from({ length: 8 }, (_, i) => ({ value: `m${i}` })));
    let handled = 0;
    await runUntil(ferry, memory, ['in'], (d, tx) => {
      void tx.publish('out', { value: `${d.value}-out` });
      handled++;
    }, () => handled >= 8);
    expect(handled).toBe(8);
    expect(await values(ferry, memory, 'out')).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}-out`));
    expect(await values(ferry, memory, 'in')).toEqual(Array.from({ length: 8 }, (_, i) => `m${i}`)); // a fresh group sees them all...
    expect(prepared.size).toBeLessThan(8); // ...and the 8 commits took fewer transactions
    await ferry.close();
  });

  it('publishes nothing of a handler that throws, and nacks only its delivery', async () => {
    const memory = memoryFerry(32);
    const { ferry } = await counting(memory);
    await ferry.createTopic('in');
    await ferry.createTopic('out');
    await ferry.producer().publishMany('in', Array.from({ length: 6 }, (_, i) => ({ value: `m${i}` })));
    const attempts = new Map<string, number>();
    await runUntil(ferry, memory, ['in'], (d, tx) => {
      attempts.set(d.value, d.attempt);
      void tx.publish('out', { value: `${d.value}-a${d.attempt}` });
      if (d.value === 'm3' && d.attempt === 1) throw new Error('transient');
    }, () => attempts.get('m3') === 2);
    expect(await values(ferry, memory, 'out')).toEqual(['m0-a1', 'm1-a1', 'm2-a1', 'm3-a2', 'm4-a1', 'm5-a1']);
    await ferry.close();
  });

  it('fails only the member whose lease ran out; the others ready with it commit', async () => {
    const memory = memoryFerry(33);
    const { ferry, prepared } = await counting(memory);
    await ferry.createTopic('in', { ackTimeoutMs: 300 });
    await ferry.createTopic('out');
    await ferry.producer().publishMany('in', [{ value: 's' }, { value: 'l' }]);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const attempts: string[] = [];
    let after = 0;
    await runUntil(ferry, memory, ['in'], async (d, tx) => {
      attempts.push(`${d.value}${d.attempt}`);
      void tx.publish('out', { value: `${d.value}${d.attempt}` });
      if (d.value === 'l') await d.extend(60_000); // only the short one's lease runs out
      if (d.attempt === 1) await gate; // both first attempts wait, so they become ready in one turn
    }, () => {
      if (!attempts.includes('s2')) return false; // the short one's lease ran out; it came again and committed
      open();
      return ++after > 20;
    });
    // The merged commit of s1 and l1 failed (s1's lease was gone); l1 then committed alone, once.
    expect(attempts.sort()).toEqual(['l1', 's1', 's2']);
    expect(await values(ferry, memory, 'out')).toEqual(['l1', 's2']);
    expect(prepared.size).toBeGreaterThanOrEqual(3); // s2, the merged one, then l1 alone
    await ferry.close();
  });
});
