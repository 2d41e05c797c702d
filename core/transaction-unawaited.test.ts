// A half transaction's publish whose promise nobody awaits, and that fails (a full disk), must
// not crash the process with an unhandled rejection: the commit reports it (issue 13; found by
// the simulator, seed range 1..300, before the fix).
import { describe, expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

describe('an unawaited transactional publish that fails', () => {
  it('leaves no unhandled rejection, and the commit fails with the reason', async () => {
    const memory = memoryFerry(3);
    const ferry = await memory.open();
    await ferry.createTopic('orders');
    const tx = await ferry.beginTransaction({ id: 'unawaited' });
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      memory.fs.faults.capacityBytes = 0; // the prepare cannot be written
      void tx.publish('orders', { value: 'lost' });
      await flush(20);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      await expect(tx.commit()).rejects.toMatchObject({ code: 'TRANSACTION_ABORTED', cause: { code: 'DISK_FULL' } });
    } finally {
      process.off('unhandledRejection', listener);
      memory.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
      await ferry.close();
    }
  });
});
