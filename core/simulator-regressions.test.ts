// Regressions for bugs the deterministic simulator found (issues 5 and 17), each reduced to its core.
import { describe, expect, it } from 'vitest';
import { FerryError, ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { Consumer } from './consumer.ts';
import type { PartitionCommand } from './partition-protocol.ts';
import type { PartitionRuntime } from './runtime.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { DeadLetter } from './dead-letter.ts';
import type { PublishReply, PublishRequest } from './partition-api.ts';
import { Lane, type LaneHost, type PublishResult } from './producer-lane.ts';
import { Producer } from './producer.ts';
import { ProducerTable } from './producer-state.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

function runtimeOnManualDisk(deadLetters?: (letter: DeadLetter) => Promise<void>) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(5), syncs: 'manual' });
  const clock = new ManualClock(1_700_000_000_000);
  const runtime = new LocalRuntime({
    ...(deadLetters ? { deadLetters } : {}),
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
    const table = new ProducerTable(10, () => 0);
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

  // Issue 17, seeds 737384 and 763038: the oldest batch's reply was lost while later ones were
  // confirmed, and the lane kept sending past it (confirmed batches left the window), until the
  // partition no longer remembered the oldest one: its retry was "confirmed" with offset -1.
  it('keeps its window within maxInFlight batches of the oldest unconfirmed one, so a late retry gets its own offset', async () => {
    const { fs, clock, runtime } = runtimeOnManualDisk();
    const opening = runtime.openTopic('t', resolveTopicOptions('t'));
    while (fs.releaseSyncs() > 0 || fs.pendingSyncs > 0) await flush(2);
    await opening;
    let loseReplyOf: number | undefined = 1; // sequence whose first reply is held, then lost
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const sent: number[] = [];
    const lossy = {
      call: async (command: PartitionCommand): Promise<PublishReply> => {
        if (command.op !== 'publish') throw new Error(`unexpected ${command.op}`);
        const { request } = command;
        const seq = request.producer!.baseSequence;
        sent.push(seq);
        const reply = runtime.call(command); // the partition takes it at once
        if (seq !== loseReplyOf) return reply;
        loseReplyOf = undefined;
        await reply;
        await held;
        throw new FerryError('REQUEST_LOST', 'the reply was lost', true);
      },
    } as unknown as PartitionRuntime;
    const producer = new Producer({ runtime: lossy, clock, random: new SeededRandom(2), maxMessageBytes: 1 << 16, topic: () => resolveTopicOptions('t'), bumpEpoch: async () => 0 }, { id: 'p' });
    const results: (PublishResult | undefined)[] = [];
    const drive = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        fs.releaseSyncs();
        await flush(2);
        clock.advance(20);
      }
    };
    for (let v = 0; v < 20; v++) {
      void producer.publish('t', { value: v }).then((r) => (results[v] = r));
      await drive(); // one batch per value
    }
    // Batch 1 unanswered: at most 4 batches (1..4) may be out; the rest wait.
    expect(Math.max(...sent)).toBeLessThanOrEqual(4);
    release();
    await drive();
    await drive();
    expect(results.map((r) => r?.offset)).toEqual(Array.from({ length: 20 }, (_, v) => v));
    await runtime.close().catch(() => {});
  });

  // Issue 17, seeds 719047 and 797432: a producer that could not say its epoch for a moment (an
  // older instance was being fenced) made its lanes number a batch in "no epoch" and then, the
  // epoch back, restart their sequences at 0 in the epoch they had used: the partition answered
  // the new messages with the offsets of the old ones.
  it('never numbers batches again from 0 in an epoch it has used, when its producer could not say its epoch for a moment', async () => {
    const clock = new ManualClock(0);
    const requests: { epoch: number; baseSequence: number }[] = [];
    let failIdentity = false;
    const host: LaneHost = {
      runtime: {
        call: async ({ request: r }: { request: PublishRequest }): Promise<PublishReply> => {
          requests.push({ epoch: r.producer!.epoch, baseSequence: r.producer!.baseSequence });
          return { offsets: [requests.length - 1], duplicates: [false] };
        },
      } as unknown as PartitionRuntime,
      clock,
      maxBatchMessages: 1,
      maxInFlight: 1,
      deliveryTimeoutMs: 1000,
      ready: () => undefined,
      renewEpoch: () => {},
      identity: () => {
        if (failIdentity) throw new FerryError('PRODUCER_FENCED', 'not now', false);
        return { id: 1, epoch: 3, name: 'p' };
      },
      released: () => {},
      idle: () => {},
    };
    const lane = new Lane('t', 0, host);
    const outcomes: unknown[] = [];
    const push = (v: number): void =>
      lane.pushRecord(encodeMessage({ value: v }, 0, 1 << 16), null, { settle: (_i, r, e) => outcomes.push(r ?? e) }, 0);
    push(0);
    push(1);
    await flush(5);
    failIdentity = true;
    push(2);
    await flush(5);
    failIdentity = false;
    push(3);
    await flush(5);
    expect(outcomes[2]).toMatchObject({ code: 'PRODUCER_FENCED' }); // failed, never numbered
    expect(requests).toEqual([{ epoch: 3, baseSequence: 0 }, { epoch: 3, baseSequence: 1 }, { epoch: 3, baseSequence: 2 }]);
  });

  // Issue 17, seed 752587: a dead letter left before its DEAD_INTENT was durable (sent right
  // after the previous letter's DEAD record, which the intent followed in the log). A power loss
  // took the intent back; the next message to die reused its sequence number, and the
  // dead-letter topic answered that letter as a duplicate: never stored, yet marked DEAD.
  it('sends a dead letter only once its DEAD_INTENT is durable', async () => {
    const calls: { offset: number; durable: boolean }[] = [];
    let intentAt = Number.POSITIVE_INFINITY;
    let releaseFirst = (): void => {};
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const { fs, clock, runtime } = runtimeOnManualDisk(async (letter) => {
      const { committedEnd } = runtime.describe()['t/0']!;
      calls.push({ offset: letter.info.offset, durable: letter.info.offset === 0 || committedEnd > intentAt });
      if (letter.info.offset === 0) await firstHeld;
    });
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        fs.releaseSyncs();
        await flush(2);
      }
    };
    const opening = runtime.openTopic('t', resolveTopicOptions('t', { maxDeliveries: 1 }));
    await settle();
    await opening;
    const published = runtime.call({ op: 'publish', topic: 't', partition: 0, request: { payload: frameMessages([0, 1].map((v) => encodeMessage({ value: v }, clock.now(), 1 << 16))), count: 2 } });
    const joined = runtime.call({ op: 'ensureGroup', topic: 't', partition: 0, group: 'g', ordering: 'none' });
    await settle();
    await published;
    await joined;
    const fetched = runtime.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 2, waitMs: 0 } });
    await settle();
    const [m0, m1] = await fetched;
    void runtime.call({ op: 'settle', topic: 't', partition: 0, group: 'g', items: [{ kind: 'nack', offset: m0!.offset, token: m0!.token, options: {} }] }).catch(() => {});
    await settle(); // m0's intent is durable: its letter is on its way (held)
    expect(calls.map((c) => c.offset)).toEqual([0]);
    releaseFirst();
    await flush(5); // m0's DEAD record is written, its sync still pending
    intentAt = runtime.describe()['t/0']!.nextOffset;
    void runtime.call({ op: 'settle', topic: 't', partition: 0, group: 'g', items: [{ kind: 'nack', offset: m1!.offset, token: m1!.token, options: {} }] }).catch(() => {}); // m1's intent follows it
    await flush(2);
    fs.releaseSyncs(1); // the sync covering m0's DEAD record (not m1's intent): m0 is done
    await flush(5);
    // Before the fix, m1's letter left here, its intent not yet durable.
    expect(calls.map((c) => c.offset)).toEqual([0]);
    await settle();
    expect(calls).toEqual([{ offset: 0, durable: true }, { offset: 1, durable: true }]);
    await runtime.close().catch(() => {});
  });
});
