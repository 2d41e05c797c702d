// consumer.extendMany (a new-user trial: a batch handler that takes long had no way to extend its
// deliveries' leases but one promise each): one call, one settle command per partition, a lease
// that outlives ackTimeoutMs, and PARTLY_EXTENDED naming exactly the deliveries it could not extend.
// Both backends pass the conformance part (test-support/conformance-consumer.ts).
import { describe, expect, it } from 'vitest';
import { FerryError } from '../wal/index.ts';
import type { Delivery } from './delivery.ts';
import type { SettleItem } from './partition-protocol.ts';
import { PartlyExtendedError } from './errors.ts';
import { flush, memoryFerry, openIntercepting } from '../test-support/memory-ferry.ts';

/** Opens an engine whose settle commands are recorded; `failExtendsOn` partitions answer extends with a retriable failure. */
async function recordingEngine(failExtendsOn: ReadonlySet<number> = new Set()) {
  const memory = memoryFerry(17);
  const settles: { partition: number; items: readonly SettleItem[] }[] = [];
  const ferry = await openIntercepting(memory, (command) => {
    if (command.op !== 'settle') return undefined;
    settles.push({ partition: command.partition, items: command.items });
    if (failExtendsOn.has(command.partition) && command.items.some((i) => i.kind === 'extend')) return Promise.reject(new FerryError('OVERLOADED', 'busy', true));
    return undefined;
  });
  await ferry.createTopic('t', { partitions: 2, ackTimeoutMs: 1000 });
  await ferry.producer().publishMany('t', Array.from({ length: 6 }, (_, i) => ({ value: i, key: `k${i}` })));
  const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 10 });
  const held: Delivery<number>[] = [];
  while (held.length < 6) held.push((await consumer.next())!);
  await flush();
  return { memory, ferry, consumer, held, settles };
}

const extendsOf = (items: readonly SettleItem[]): number => items.filter((i) => i.kind === 'extend').length;

describe('consumer.extendMany', () => {
  it('extends every lease with one settle command per partition, past ackTimeoutMs', async () => {
    const { memory, ferry, consumer, held, settles } = await recordingEngine();
    const perPartition = [0, 1].map((p) => held.filter((d) => d.partition === p).length);
    expect(perPartition.every((n) => n > 0)).toBe(true);
    settles.length = 0;
    const extending = consumer.extendMany(held, 5000);
    await flush();
    await extending;
    expect(settles.map((s) => [s.partition, extendsOf(s.items)]).sort()).toEqual([[0, perPartition[0]], [1, perPartition[1]]]);
    memory.clock.advance(3000); // three leases' worth: only the extend keeps them
    await flush();
    await consumer.ackMany(held);
    await consumer.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('rejects with PARTLY_EXTENDED naming each delivery it could not extend (retriable: still leased), the others extended', async () => {
    const { memory, ferry, consumer, held } = await recordingEngine(new Set([1]));
    const error = await consumer.extendMany(held, 5000).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(PartlyExtendedError);
    const failures = (error as PartlyExtendedError).failures;
    expect(failures.map((f) => f.delivery.offset + 100 * f.delivery.partition).sort()).toEqual(held.filter((d) => d.partition === 1).map((d) => d.offset + 100).sort());
    expect(failures.every((f) => f.error instanceof FerryError && f.error.retriable)).toBe(true);
    expect((error as PartlyExtendedError).message).toMatch(/^\d of 6 extends failed; the first: busy/);
    expect(Object.keys(error as object)).not.toContain('failures'); // a logger does not dump every lease
    memory.clock.advance(3000);
    await flush();
    await consumer.ackMany(held.filter((d) => d.partition === 0)); // extended: still theirs
    await consumer.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });
});
