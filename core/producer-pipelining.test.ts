// Issue 4: a producer keeps several batches in flight per partition. A retriable failure in the
// middle rewinds the window (the later batches are resent in order, with the same sequences), a
// non-retriable one rejects exactly its own messages; the log keeps publish order, once each.
import { describe, expect, it } from 'vitest';
import { FerryError, ManualClock, OverloadedError, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { decodeBody, messageSlices } from './codec.ts';
import { InvalidMessageError } from './errors.ts';
import { PartitionActor } from './partition-actor.ts';
import type { PublishReply, PublishRequest } from './partition-api.ts';
import { Producer, type PublishResult } from './producer.ts';
import type { PartitionRuntime } from './runtime.ts';
import { flush } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';
import { RecordType } from './records.ts';

/** What happens to one publish request on its way: as sent, lost before or after the actor, refused. */
type Fate = 'ok' | 'lost-before' | 'lost-after' | 'refused';

const limits = { maxUnsettledPerGroup: 1000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, checkpointEveryRecords: 1_000_000, maxGroups: 10 };

/** One partition (a real actor and log on the memory disk, syncs released by hand) behind a runtime whose requests meet `fate`. */
async function setup(fate: (request: PublishRequest, n: number) => Fate, producerOptions: { deliveryTimeoutMs?: number } = {}, inThread = false) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(7), syncs: 'manual' });
  const clock = new ManualClock(1_700_000_000_000);
  const opening = WriteAheadLog.open({ dir: '/p', fs, clock, fsync: 'interval' });
  let opened = false;
  void opening.finally(() => (opened = true));
  while (!opened) {
    fs.releaseSyncs();
    await flush(1);
  }
  const log = await opening;
  const actor = PartitionActor.open({ topic: 't', partition: 0, options: resolveTopicOptions('t'), clock, random: new SeededRandom(1), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 });
  const requests: { epoch: number; baseSequence: number; count: number; fate: Fate }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  /** End of the sequences the actor has taken: a refusal is only modelled for a batch it never took. */
  let acceptedEnd = 0;
  // While held, answers wait for drive() (the actor still sees each request at once, in order),
  // so several batches are in flight, as they are behind a worker thread's port.
  let held: Promise<void> | undefined;
  let release = (): void => {};
  const publish = async ({ request }: { request: PublishRequest }): Promise<PublishReply> => {
    const { baseSequence, epoch: requestEpoch } = request.producer!;
    let f = fate(request, requests.length);
    if (f === 'refused' && baseSequence < acceptedEnd) f = 'ok';
    requests.push({ epoch: requestEpoch, baseSequence, count: request.count, fate: f });
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    const gate = held;
    try {
      let answer: Promise<PublishReply> | undefined;
      if (f === 'ok' || f === 'lost-after') {
        answer = actor.publish(request);
        answer.catch(() => {});
        acceptedEnd = Math.max(acceptedEnd, baseSequence + request.count);
      }
      await gate;
      if (f === 'lost-before') throw new OverloadedError(1); // retriable, never reached the actor
      if (f === 'refused') throw new InvalidMessageError('refused by the test'); // not retriable, nothing appended
      const reply = await answer!;
      if (f === 'lost-after') throw new FerryError('SHARD_CRASHED', 'the reply was lost', true); // appended, but the producer cannot know
      return reply;
    } finally {
      inFlight--;
    }
  };
  const runtime = { call: publish, ...(inThread ? { placement: 'in-thread' } : {}) } as unknown as PartitionRuntime;
  let epoch = 0;
  const producer = new Producer({
    runtime,
    clock,
    random: new SeededRandom(3),
    maxMessageBytes: 1 << 20,
    topic: () => resolveTopicOptions('t'),
    bumpEpoch: async () => ++epoch,
  }, { id: 'p', ...producerOptions });
  /** Lets syncs, replies and backoff timers run until `done`. */
  const drive = async (done: () => boolean): Promise<void> => {
    release();
    held = undefined;
    for (let i = 0; i < 500 && !done(); i++) {
      fs.releaseSyncs();
      await flush(2);
      clock.advance(20);
    }
  };
  /** The values in the log, in log order. */
  const stored = (): number[] =>
    log.read(0, { upToOffset: log.nextOffset, maxBytes: 1 << 30 }).flatMap((b) => (b.type === RecordType.DATA ? messageSlices(b.payload).map((r) => decodeBody(r).value as number) : []));
  const hold = (): void => void (held = new Promise<void>((resolve) => (release = resolve)));
  return { producer, requests, drive, hold, stored, maxInFlight: () => maxInFlight };
}

/**
 * Publishes value 0 and waits for it (until a partition has confirmed a producer's batch, the lane
 * sends one at a time), then values 1.. one call per tick, each its own batch while the window
 * has room, with answers held; then settles them all.
 */
async function publishInTicks(s: Awaited<ReturnType<typeof setup>>, count: number, warm = true) {
  const outcomes: (PublishResult | Error | undefined)[] = Array(count).fill(undefined);
  const publish = (v: number): void =>
    void s.producer.publish('t', { value: v }).then(
      (r) => (outcomes[v] = r),
      (e: Error) => (outcomes[v] = e),
    );
  if (warm) {
    publish(0);
    await s.drive(() => outcomes[0] !== undefined);
  }
  s.hold();
  for (let v = warm ? 1 : 0; v < count; v++) {
    publish(v);
    await flush(1);
  }
  await s.drive(() => outcomes.every((o) => o !== undefined));
  return outcomes;
}

describe('producer pipelining', () => {
  it('keeps several batches of one partition in flight, with consecutive sequences', async () => {
    const s = await setup(() => 'ok');
    const outcomes = await publishInTicks(s, 7);
    expect(s.maxInFlight()).toBe(4);
    // Value 0 alone (the partition did not know the producer yet), 1-4 in flight together, and
    // 5 and 6, queued while the window was full, in one batch.
    expect(s.requests.map((r) => [r.baseSequence, r.count])).toEqual([[0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 2]]);
    expect(outcomes.map((o) => (o as PublishResult).offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.stored()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  // Issue 11: with the partitions on this thread a second batch in flight hides no hop; it only
  // costs a write of its own before the same sync. What queues meanwhile goes at the answer, whole.
  it('with the partitions on this thread, holds what queues while a batch is unanswered and sends it as one batch at the answer', async () => {
    const s = await setup(() => 'ok', {}, true);
    const outcomes = await publishInTicks(s, 7);
    expect(s.maxInFlight()).toBe(1);
    expect(s.requests.map((r) => [r.baseSequence, r.count])).toEqual([[0, 1], [1, 1], [2, 5]]);
    expect(outcomes.map((o) => (o as PublishResult).offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.stored()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rewinds after a retriable failure in the middle: the later batches are resent in order, with the same sequences', async () => {
    const s = await setup((_, n) => (n === 2 ? 'lost-before' : 'ok'));
    const outcomes = await publishInTicks(s, 7);
    // Sequences 3 and 4 met a gap (2 never arrived); 2, 3, 4 went again, in order, then 5-6.
    expect(s.requests.map((r) => r.baseSequence)).toEqual([0, 1, 2, 3, 4, 2, 3, 4, 5]);
    expect(s.requests.slice(2, 5).map((r) => r.fate)).toEqual(['lost-before', 'ok', 'ok']);
    expect(outcomes.map((o) => (o as PublishResult).offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.stored()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a batch appended whose reply was lost (a worker crash) is resent and answered with its original offset, stored once', async () => {
    const s = await setup((_, n) => (n === 2 ? 'lost-after' : 'ok'));
    const outcomes = await publishInTicks(s, 7);
    // 5-6 went as soon as 1 was confirmed, before the loss of 2 was known; then 2 again.
    expect(s.requests.map((r) => r.baseSequence)).toEqual([0, 1, 2, 3, 4, 5, 2]);
    expect(outcomes.map((o) => (o as PublishResult).offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(outcomes.map((o) => (o as PublishResult).duplicate)).toEqual([false, false, true, false, false, false, false]);
    expect(s.stored()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a failure for good spends its epoch: the batches behind it are rejected too (never renumbered), later messages go in a new epoch', async () => {
    const s = await setup((_, n) => (n === 2 ? 'refused' : 'ok'));
    const outcomes = await publishInTicks(s, 7);
    expect(outcomes[2]).toBeInstanceOf(InvalidMessageError);
    // 3 and 4 were refused as gaps behind it; sent again under new numbers, a late copy of their
    // first request (a network may deliver one) could store them twice, so they fail too.
    expect(outcomes.slice(3, 5).map((o) => (o as FerryError).code)).toEqual(['SEQUENCE_GAP', 'SEQUENCE_GAP']);
    expect(outcomes.filter((o) => o instanceof Error)).toHaveLength(3);
    // Sequence 2 is never given to other messages (had the refused batch been stored after all,
    // the partition would take them for its retry and drop them): 5 and 6 go in epoch 2, from 0.
    expect(s.requests.map((r) => [r.epoch, r.baseSequence, r.count])).toEqual([[1, 0, 1], [1, 1, 1], [1, 2, 1], [1, 3, 1], [1, 4, 1], [2, 0, 2]]);
    expect(s.stored()).toEqual([0, 1, 5, 6]);
  });

  it('a batch given up on (stored, but every reply lost until its delivery timeout) never lends its sequences to later messages', async () => {
    // Found by the simulator: the next batch reused the sequence, the partition took it for a
    // retry of the stored one and answered with that one's offset: a confirmed message, never stored.
    let losing = true;
    const s = await setup((_, n) => (n >= 1 && losing ? 'lost-after' : 'ok'), { deliveryTimeoutMs: 200 });
    const outcomes = await publishInTicks(s, 2);
    losing = false;
    expect(outcomes[1]).toBeInstanceOf(FerryError);
    let later: PublishResult | undefined;
    void s.producer.publish('t', { value: 2 }).then((r) => (later = r));
    await s.drive(() => later !== undefined);
    expect(s.stored()).toEqual([0, 1, 2]); // 1 is there (its outcome unknown to the producer), and so is 2
    expect(later).toMatchObject({ offset: 2, duplicate: false });
    expect(s.requests.at(-1)).toMatchObject({ epoch: 2, baseSequence: 0 });
  });

  it('sends one batch at a time until the partition has confirmed one: a lost first batch is never overtaken', async () => {
    // An actor takes an unknown producer's first batch whatever its sequence; had batch 1 gone
    // ahead of a lost batch 0, the retry of 0 would have looked like a duplicate (and been lost).
    const s = await setup((_, n) => (n === 0 ? 'lost-before' : 'ok'));
    const outcomes = await publishInTicks(s, 5, false);
    expect(s.requests.map((r) => [r.baseSequence, r.count])).toEqual([[0, 1], [0, 1], [1, 4]]);
    expect(outcomes.map((o) => (o as PublishResult).offset)).toEqual([0, 1, 2, 3, 4]);
    expect(s.stored()).toEqual([0, 1, 2, 3, 4]);
  });

  it('under random losses (before and after the actor) and refusals: every confirmed message stored once, in publish order', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = new SeededRandom(seed);
      const s = await setup(() => {
        const x = r.next();
        return x < 0.15 ? 'lost-before' : x < 0.3 ? 'lost-after' : x < 0.35 ? 'refused' : 'ok';
      });
      const outcomes = await publishInTicks(s, 40);
      const confirmed = outcomes.flatMap((o, v) => (o instanceof Error ? [] : [v]));
      expect(outcomes.every((o) => o !== undefined)).toBe(true);
      expect(s.stored(), `seed ${seed}`).toEqual(confirmed);
      outcomes.forEach((o, v) => {
        if (!(o instanceof Error)) expect(s.stored()[o!.offset], `seed ${seed} value ${v}`).toBe(v);
      });
    }
  });
});
