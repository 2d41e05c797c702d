// Nacks cost one write per settle command, not one per nack (issue 11: in W4, 10% of messages
// nacked once, a write system call per nack was 12% of the main thread). The RETRY records of a
// command's nacks go in one append, each still its own record, and take effect once written.
import { describe, expect, it } from 'vitest';
import type { FileHandle, FileSystem } from '../wal/index.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import type { Delivery } from './delivery.ts';

/** `inner`, counting the writes to files whose path contains `match`. */
function countingWrites(inner: FileSystem, match: string): { fs: FileSystem; writes: () => number } {
  let writes = 0;
  const handle = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(target, key) {
        if (key === 'writev') {
          return (buffers: readonly Uint8Array[], position: number) => {
            writes++;
            return target.writev(buffers, position);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const fs = new Proxy(inner, {
    get(target, key) {
      if (key === 'open') return (path: string, mode: Parameters<FileSystem['open']>[1]) => (path.includes(match) ? handle(target.open(path, mode)) : target.open(path, mode));
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { fs, writes: () => writes };
}

describe('nacks of one settle command', () => {
  it('are written in one append, and each message comes back with its attempt counted', async () => {
    const memory = memoryFerry(11);
    const counted = countingWrites(memory.fs.processView(), 'orders');
    const ferry = await memory.open({ fs: counted.fs });
    await ferry.createTopic('orders', { partitions: 1, backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publishMany('orders', Array.from({ length: 30 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['orders'], maxInFlight: 30 });
    const firstBatch: number[] = [];
    const secondAttempts = new Map<number, number>();
    let writesAtThrow = -1;
    let writesAtRedelivery = -1;
    const running = consumer.runBatches(
      (batch: Delivery<number>[]) => {
        if (firstBatch.length === 0) {
          firstBatch.push(...batch.map((d) => d.value));
          writesAtThrow = counted.writes();
          throw new Error('all of them failed'); // one settle command: a nack for each
        }
        if (writesAtRedelivery < 0) writesAtRedelivery = counted.writes();
        for (const d of batch) secondAttempts.set(d.value, d.attempt);
      },
      { maxBatchSize: 30 },
    );
    for (let i = 0; i < 50 && secondAttempts.size < 30; i++) {
      await flush();
      memory.clock.advance(1);
    }
    await consumer.close();
    await running;
    expect(firstBatch).toHaveLength(30); // the whole backlog in the batch that threw
    expect([...secondAttempts.values()]).toEqual(Array(30).fill(2)); // each redelivered, its failure counted
    expect(writesAtRedelivery - writesAtThrow).toBe(1); // 30 RETRY records, one write (30 before)
    await ferry.close();
  });
});
