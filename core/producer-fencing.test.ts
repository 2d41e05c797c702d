// Issue 9: fencing a named producer is visible at once, and a named producer survives a failed
// epoch bump. In-thread, on the memory disk: the older instance's requests are held on their way
// (a slow partition) to show that the newer instance cannot overtake them.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { ProducerFencedError } from './errors.ts';
import { Ferry } from './ferry.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { PartitionCommand } from './partition-protocol.ts';
import type { PublishResult } from './producer.ts';
import type { PartitionRuntime } from './runtime.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

/** An engine whose publish replies for producer epoch `heldEpoch` wait until `release()`. */
async function engineHoldingEpoch(heldEpoch: number) {
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const clock = new ManualClock(1_700_000_000_000);
  const fs = new MemoryFileSystem({ random: new SeededRandom(1) });
  const ferry = await Ferry.open({ dir: '/f', threads: 1, fs, clock, random: new SeededRandom(2) }, (o) => {
    const local = new LocalRuntime(o.local);
    return new Proxy(local, {
      get(target, name) {
        if (name === 'call') {
          return async (command: PartitionCommand) => {
            const reply = await local.call(command);
            if (command.op === 'publish' && command.request.producer?.epoch === heldEpoch) await held;
            return reply;
          };
        }
        const value = Reflect.get(target, name) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as PartitionRuntime;
  });
  await ferry.createTopic('t');
  return { ferry, release };
}

describe('producer fencing', () => {
  it('fails the older instance\'s publishes with PRODUCER_FENCED from the moment a newer one is opened, in the same tick', async () => {
    const { ferry, release } = await engineHoldingEpoch(-1);
    release();
    const older = ferry.producer({ id: 'checkout' });
    await older.publish('t', { value: 1 });
    const newer = ferry.producer({ id: 'checkout' });
    // Before the fix this was stored: the newer instance's epoch was not yet in the catalog.
    await expect(older.publish('t', { value: 2 })).rejects.toBeInstanceOf(ProducerFencedError);
    await expect(older.publishMany('t', [{ value: 3 }])).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    expect(await newer.publish('t', { value: 4 })).toMatchObject({ offset: 1, duplicate: false });
    await ferry.close();
  });

  // Before the fix the newest one's publish was confirmed at once (['newest@1']), the first
  // instance's still in flight; with one between, it waited only for the one between.
  it.each([
    { between: 0, what: 'the older one' },
    { between: 1, what: 'the first of two older ones (not only the one between)' },
  ])('the newest instance\'s first publish succeeds only once nothing of $what is in flight', async ({ between }) => {
    const { ferry, release } = await engineHoldingEpoch(0);
    const first = ferry.producer({ id: 'checkout' }); // epoch 0: its replies are held
    const order: string[] = [];
    const firstDone = first.publish('t', { value: 'first' }).then(() => order.push('first'));
    await flush(5); // stored, its reply held
    const middles = Array.from({ length: between }, () => ferry.producer({ id: 'checkout' }));
    const newest = ferry.producer({ id: 'checkout' });
    for (const middle of middles) await expect(middle.publish('t', { value: 'middle' })).rejects.toBeInstanceOf(ProducerFencedError);
    const newestDone = newest.publish('t', { value: 'new' }).then((r: PublishResult) => order.push(`newest@${r.offset}`));
    await flush(20);
    expect(order).toEqual([]);
    release();
    await Promise.all([firstDone, newestDone]);
    expect(order).toEqual(['first', 'newest@1']);
    await ferry.close();
  });

  it('a named producer whose epoch could not be had (disk full) fails those messages, then works once there is room', async () => {
    const setup = memoryFerry(4);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    setup.fs.faults.capacityBytes = 0;
    const producer = ferry.producer({ id: 'orders', deliveryTimeoutMs: 100 });
    const refused = producer.publish('t', { value: 1 });
    refused.catch(() => {});
    for (let i = 0; i < 10; i++) {
      await flush(2);
      setup.clock.advance(20);
    }
    await expect(refused).rejects.toMatchObject({ code: 'DISK_FULL' });
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    // Before the fix the failed bump was kept for good: every later publish failed with DISK_FULL.
    const later = producer.publish('t', { value: 2 });
    later.catch(() => {});
    for (let i = 0; i < 10; i++) {
      await flush(2);
      setup.clock.advance(20);
    }
    expect(await later).toMatchObject({ offset: 0, duplicate: false });
    await ferry.close();
  });
});
