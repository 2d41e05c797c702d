// Regressions for bugs the deterministic simulator found (issue 5), each reduced to its core.
import { describe, expect, it } from 'vitest';
import { FerryError, ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { Consumer } from './consumer.ts';
import type { PartitionCommand } from './partition-protocol.ts';
import type { PartitionRuntime } from './runtime.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { PublishRequest } from './partition-api.ts';
import { ProducerTable } from './producer-state.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

function runtimeOnManualDisk() {
  const fs = new MemoryFileSystem({ random: new SeededRandom(5), syncs: 'manual' });
  const clock = new ManualClock(1_700_000_000_000);
  const runtime = new LocalRuntime({
    dir: '/r',
    fs: fs.processView(),
    clock,
    random: new SeededRandom(6),
    fsync: 'always',
    fsyncIntervalMs: 0,
    segmentBytes: 1 << 20,
    maxMessageBytes: 1 << 16,
    limits: { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 1000, maxGroups: 10 },
  });
  return { fs, clock, runtime };
}

const batch = (clock: ManualClock): PublishRequest => ({
  payload: frameMessages([encodeMessage({ value: 'x' }, clock.now(), 1 << 16)]),
  count: 1,
  producer: { id: 7, epoch: 0, baseSequence: 0, name: 'p' },
});

describe('found by the simulator', () => {
  it('does not confirm a retried batch whose original never became durable (its fsync failed)', async () => {
    const { fs, clock, runtime } = runtimeOnManualDisk();
    const opening = runtime.openTopic('t', resolveTopicOptions('t'));
    while (fs.releaseSyncs() > 0 || fs.pendingSyncs > 0) await flush(2);
    await opening;
    // The original is written and waits for its fsync; a retry (same sequence) arrives meanwhile.
    const original = runtime.call({ op: 'publish', topic: 't', partition: 0, request: batch(clock) });
    await flush(2);
    const retry = runtime.call({ op: 'publish', topic: 't', partition: 0, request: batch(clock) });
    original.catch(() => {});
    retry.catch(() => {});
    await flush(2);
    fs.failNextSyncs(10);
    while (fs.releaseSyncs() > 0) await flush(2);
    await expect(original).rejects.toMatchObject({ code: expect.any(String) });
    // Before the fix the retry swallowed the failed sync and reported the offset as stored.
    await expect(retry).rejects.toMatchObject({ code: expect.any(String) });
    await runtime.close().catch(() => {});
  });

  it('a consumer joins its group through a retriable failure (a shard restarting, a lost reply) instead of dying', async () => {
    const clock = new ManualClock(0);
    let joins = 0;
    const runtime = {
      call: async (command: PartitionCommand) => {
        if (command.op === 'ensureGroup' && ++joins < 3) throw new FerryError('SHARD_CRASHED', 'the shard restarted', true);
        if (command.op === 'fetch') await new Promise(() => {}); // nothing to deliver: the pump parks here
        return command.op === 'settle' ? command.items.map(() => null) : null;
      },
    } as unknown as PartitionRuntime;
    const consumer = new Consumer({ runtime, clock, random: new SeededRandom(1), topic: () => resolveTopicOptions('t') }, 'g', { topics: ['t'] });
    let failure: unknown;
    void consumer.next().catch((e: unknown) => (failure = e));
    for (let i = 0; i < 10; i++) {
      await flush(2);
      clock.advance(1000);
    }
    expect(joins).toBe(3);
    expect(failure).toBeUndefined();
  });

  it('refuses a used sequence carrying another number of messages, instead of answering with the old batch\'s offsets', () => {
    const table = new ProducerTable(10);
    table.record(7, 0, 0, 2, 100);
    expect(table.check(7, 0, 0, 2)).toEqual({ kind: 'duplicate', offsets: [100, 101] });
    expect(() => table.check(7, 0, 0, 5)).toThrow(expect.objectContaining({ code: 'SEQUENCE_GAP' }));
  });

  it('survives a lease extended twice to the same deadline when it expires (no crash in the timer)', async () => {
    const setup = memoryFerry(3);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000, maxDeliveries: 5 });
    await ferry.producer().publish('t', { value: 1 });
    const consumer = ferry.consumer<number>('g', { topics: ['t'] });
    const first = (await consumer.next())!;
    // Same instant, same length: two equal entries in the lease heap.
    await first.extend(1000);
    await first.extend(1000);
    setup.clock.advance(1001); // before the fix: a TypeError thrown from the expiry timer
    await flush();
    const again = (await consumer.next())!;
    expect(again.offset).toBe(first.offset);
    expect(again.attempt).toBe(2);
    await again.ack();
    await ferry.close({ timeoutMs: 0 });
  });
});
