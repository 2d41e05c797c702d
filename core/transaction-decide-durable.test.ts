// A partition answers a transaction's decision only once it is durable, also when the decision
// comes again (a retry after a lost reply) while the first one's apply waits for its sync: the
// engine forgets a decision every partition answered, and a power loss could still undo the apply
// (issue 13; found by the simulator, fresh seed 197481806).
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { PartitionCommand, ReplyOf } from './partition-protocol.ts';
import { flush } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

async function preparedOnManualDisk() {
  const fs = new MemoryFileSystem({ random: new SeededRandom(3), syncs: 'manual' });
  const clock = new ManualClock(1_700_000_000_000);
  const open = () =>
    new LocalRuntime({ dir: '/d', fs: fs.processView(), clock, random: new SeededRandom(4), fsync: 'always', fsyncIntervalMs: 0, segmentBytes: 1 << 20, maxMessageBytes: 1 << 16, limits: { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 1000, maxGroups: 10 } });
  /** Runs `pending` to its end, releasing every sync it waits for. */
  const synced = async <T>(pending: Promise<T>): Promise<T> => {
    let done = false;
    void pending.finally(() => (done = true)).catch(() => {});
    while (!done) {
      fs.releaseSyncs();
      await flush(2);
    }
    return pending;
  };
  const runtime = open();
  await synced(runtime.openTopic('out', resolveTopicOptions('out')));
  const call = <C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> => runtime.call(command);
  const payload = frameMessages([encodeMessage({ value: 'o1' }, 0, 1 << 16)]);
  await synced(call({ op: 'txPrepare', topic: 'out', partition: 0, txId: 'tx-1', k: 0, part: { payload, count: 1 }, acks: [] }));
  return { fs, runtime, call, open, synced };
}

describe('a repeated transaction decision', () => {
  it('is answered only once the first one is durable', async () => {
    const { fs, call, synced } = await preparedOnManualDisk();
    const decide = () => call({ op: 'txDecide', topic: 'out', partition: 0, txId: 'tx-1', commit: true });
    let answered = 0;
    const first = decide().finally(() => answered++);
    await flush(10);
    const repeat = decide().finally(() => answered++); // the retry after a lost reply
    await flush(10);
    // Before the fix the repeat answered at once (the transaction was no longer prepared in
    // memory), so the engine forgot its decision while the apply waited for its sync.
    expect(answered).toBe(0);
    expect(fs.pendingSyncs).toBeGreaterThan(0);
    expect(await synced(first)).toBe(true);
    expect(await synced(repeat)).toBe(false); // deciding is idempotent: already done here
  });

  it('leaves the transaction prepared after a power loss when no answer was given', async () => {
    const { fs, runtime, call, open, synced } = await preparedOnManualDisk();
    const decide = () => call({ op: 'txDecide', topic: 'out', partition: 0, txId: 'tx-1', commit: true });
    let answered = false;
    void decide().finally(() => (answered = true)).catch(() => {});
    await flush(10);
    void decide().finally(() => (answered = true)).catch(() => {});
    await flush(10);
    expect(answered).toBe(false);
    fs.crash('power'); // the apply was never synced: the partition still holds it prepared
    void runtime.close().catch(() => {});
    const again = open();
    await synced(again.openTopic('out', resolveTopicOptions('out')));
    expect(await synced(again.call({ op: 'txList', topic: 'out', partition: 0 }))).toEqual(['tx-1']);
    await synced(again.close());
  });
});
