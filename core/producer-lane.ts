// One producer's pipeline to one partition, on the caller's thread: batches what is queued, keeps
// up to `maxInFlight` batches in flight with consecutive sequence numbers (as Kafka's idempotent
// producer keeps up to 5 per partition), and rewinds after a failure.
//
//   queue ─► batch(seq s) ─► batch(seq s+n) ─► ... (at most maxInFlight) ─► runtime.publish
//                  │ one fails: send nothing new; once every batch in flight has answered,
//                  ▼ resend the failed ones in order, with the same sequences, after a backoff
//
// With the partitions on this thread, a lane holds what queues while a batch is unanswered and
// sends it as one batch at the answer (LaneHost.holdWhileUnanswered).
// Invariants: batches reach the partition in sequence order (the runtime keeps call order), and
// a resent batch keeps its epoch, boundaries and sequence, so the actor finds it among the batches
// it remembers and answers with its original offsets. A sequence number is never given to other
// messages: a batch rejected for good may have been stored (a lost reply, a failed fsync that
// recovery later finds on disk), so the producer moves to a new epoch instead. The batches behind
// it in the spent epoch are rejected too, never numbered anew: even one the partition refused may
// still be stored by a late copy of its request, so only the caller can choose to send it again.
// The window spans from the oldest unconfirmed batch: a batch confirmed while an earlier one is
// still unanswered keeps its place in it, so the newest batch sent is never more than maxInFlight
// past the oldest one that may be retried (the actor remembers 8; a retry older than those could
// not be answered with its offsets: issue 17, seeds 737384 and 763038).
// A lane only ever moves to a newer epoch: a producer that cannot say its epoch now (fenced, or its
// epoch could not be had) fails the messages queued, and numbers nothing (issue 17, seeds 719047
// and 797432: a lane that went back to an epoch it had left restarted its sequences at 0 there,
// and the partition answered the new messages with the offsets of the old ones).
// Until the partition has confirmed a batch of this producer, one batch at a time: an actor that
// does not know a producer takes its first batch whatever its sequence (it may have forgotten the
// producer), so a later batch overtaking a lost first one would be taken, and the first one's
// retry then mistaken for a duplicate. (An actor forgets a producer only once it has been idle
// longer than any retry of its can take: PRODUCER_IDLE_MS, producer-state.ts.)
import { FerryError, type Clock } from '../wal/index.ts';
import { FrameBuilder } from './codec.ts';
import type { PublishReply, PublishRequest } from './partition-api.ts';
import { SequenceGapError } from './producer-state.ts';
import type { PartitionRuntime } from './runtime.ts';

/** Where a published message landed. */
export interface PublishResult {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** True when an earlier copy (same message id, or a retried batch) was stored instead. */
  readonly duplicate: boolean;
}

/** Where queued messages report: one per publish()/publishMany() call, not one per message. */
export interface Completion {
  settle(index: number, result: PublishResult | undefined, error?: unknown): void;
}

/** An encoded message waiting in a lane (its record is in the lane's `frame`, in queue order). */
export interface Queued {
  /** Bytes of its record. */
  readonly bytes: number;
  readonly id: string | null;
  readonly completion: Completion;
  readonly index: number;
}

/** The idempotent producer's identity, as a request carries it (without the sequence). */
export interface ProducerIdentity {
  readonly id: number;
  readonly epoch: number;
  readonly name: string;
}

/** What a lane needs from its producer. */
export interface LaneHost {
  readonly runtime: PartitionRuntime;
  readonly clock: Clock;
  readonly maxBatchMessages: number;
  /** Batches in flight per lane; 1 without idempotence (a retry could otherwise reorder batches). */
  readonly maxInFlight: number;
  readonly deliveryTimeoutMs: number;
  /**
   * Queued messages wait while a batch is unanswered, and go together once it is (Nagle's rule).
   * Set when the partitions run on this thread: a second batch in flight hides no hop there, it
   * only costs a write of its own before the same sync (issue 11: one write per partition per
   * sync instead of about two, a fifth less CPU per message in W1). Behind a thread hop several
   * batches stay in flight (issue 4).
   */
  readonly holdWhileUnanswered?: boolean;
  /**
   * Undefined when identity() can answer now; else settles once it can (the producer's epoch is
   * known, again after a renewal) or once the try for an epoch failed (identity() then says why).
   */
  ready(): Promise<unknown> | undefined;
  /** A batch of this epoch was rejected for good: its sequences are spent; move to a new epoch. */
  renewEpoch(failedEpoch: number): void;
  /** The identity for the next request, undefined when not idempotent; throws once fenced. */
  identity(): ProducerIdentity | undefined;
  /** `bytes` of queued messages were confirmed or rejected. */
  released(bytes: number): void;
  /** The lane has nothing queued and nothing in flight. */
  idle(): void;
}

interface Batch {
  readonly messages: Queued[];
  /** Its records, framed: each attempt sends a copy (a runtime on another thread takes what it is sent). */
  readonly payload: Uint8Array;
  readonly ids: (string | null)[] | undefined;
  readonly bytes: number;
  readonly startedAt: number;
  /** Its producer epoch (-1 without idempotence) and first sequence, fixed for every attempt. */
  readonly epoch: number;
  readonly baseSequence: number;
  attempts: number;
  /** False while the current attempt is in flight. */
  answered: boolean;
  /** Confirmed: it stays in the window only until every batch before it has answered. */
  confirmed: boolean;
  failure: unknown;
}

/** Backoff before the resend of a window whose first failed batch made `attempts` tries. */
function backoffMs(attempts: number): number {
  return Math.min(1000, 10 * 2 ** attempts);
}

/** The messages of one producer bound for one partition: see the diagram at the top of the file. */
export class Lane {
  readonly topic: string;
  readonly partition: number;
  readonly #host: LaneHost;
  #queue: Queued[] = [];
  /**
   * The queued messages' records, framed in queue order: the producer encodes each message
   * straight into it, then pushes the message.
   */
  readonly frame = new FrameBuilder();
  /** Sent and not yet confirmed or rejected, in sequence order. */
  #inFlight: Batch[] = [];
  #nextSequence = 0;
  /** A batch failed: nothing new is sent until the window has answered and been resent. */
  #rewinding = false;
  #scheduled = false;
  /** Waiting for the producer's epoch: nothing is numbered meanwhile. */
  #waitingForEpoch = false;
  /** The partition has confirmed a batch of this producer: it checks our sequences from now on. */
  #known = false;
  /** The epoch `#nextSequence` counts in. */
  #sequenceEpoch = -1;
  /** Epochs up to this one are spent here: their batches are resent or dropped, never numbered anew. */
  #spentEpoch = -1;

  constructor(topic: string, partition: number, host: LaneHost) {
    this.topic = topic;
    this.partition = partition;
    this.#host = host;
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight.length === 0;
  }

  /** Queues a message whose record was just written into `frame`; it is sent with whatever else queues in this tick (linger one microtask). */
  push(message: Queued): void {
    this.#queue.push(message);
    this.#schedule();
  }

  /** Queues an encoded record (copied into the frame after the others). */
  pushRecord(record: Uint8Array, id: string | null, completion: Completion, index: number): void {
    this.frame.append(record);
    this.push({ bytes: record.length, id, completion, index });
  }

  /** Pumps on a microtask: what else is queued in this tick (linger one microtask) goes in the same batch. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#scheduledPump);
  }

  readonly #scheduledPump = (): void => {
    this.#scheduled = false;
    // Held for the answer (see LaneHost.holdWhileUnanswered): it schedules the next pump.
    if (this.#host.holdWhileUnanswered === true && this.#inFlight.some((b) => !b.answered)) return;
    this.#pump();
  };

  /** Sends whatever is queued now (a fenced producer's queued messages fail at once). */
  kick(): void {
    this.#pump();
  }

  /** Sends queued messages while the window has room; `waited`: the epoch just settled (or failed). */
  #pump(waited = false): void {
    if (this.#waitingForEpoch) return;
    const pending = waited ? undefined : this.#host.ready();
    if (pending) {
      this.#waitingForEpoch = true;
      const go = (): void => {
        this.#waitingForEpoch = false;
        this.#pump(true); // a failed epoch is reported by identity(): the messages waiting fail
      };
      pending.then(go, go);
      return;
    }
    while (!this.#rewinding && this.#inFlight.length < (this.#known ? this.#host.maxInFlight : 1) && this.#queue.length > 0) {
      let epoch: number;
      try {
        epoch = this.#host.identity()?.epoch ?? -1;
      } catch (error) {
        // Fenced, or no epoch to be had now: the queued messages fail, nothing is numbered. A
        // producer that will try for its epoch again has a new ready() for the next ones.
        this.#failQueued(error);
        if (this.idle) this.#host.idle();
        return;
      }
      if (epoch !== this.#sequenceEpoch) {
        // A new epoch: its sequences start at 0, once nothing of the old one is in flight (the
        // partition would fence the old epoch's retries behind a newer batch).
        if (this.#inFlight.length > 0) break;
        this.#sequenceEpoch = epoch;
        this.#nextSequence = 0;
        this.#known = false;
      }
      const messages = this.#queue.length <= this.#host.maxBatchMessages ? this.#queue : this.#queue.slice(0, this.#host.maxBatchMessages);
      this.#queue = messages === this.#queue ? [] : this.#queue.slice(messages.length);
      let bytes = 0;
      let ids: (string | null)[] | undefined;
      for (let i = 0; i < messages.length; i++) {
        const q = messages[i]!;
        bytes += q.bytes;
        if (q.id !== null) (ids ??= Array<string | null>(messages.length).fill(null))[i] = q.id;
      }
      const payload = this.frame.take(bytes + 4 * messages.length);
      const batch: Batch = { messages, payload, ids, bytes, startedAt: this.#host.clock.monotonicNow(), epoch, baseSequence: this.#nextSequence, attempts: 0, answered: false, confirmed: false, failure: undefined };
      this.#nextSequence += messages.length;
      this.#inFlight.push(batch);
      this.#attempt(batch);
    }
  }

  #attempt(batch: Batch): void {
    batch.attempts++;
    batch.answered = false;
    batch.failure = undefined;
    let reply: Promise<PublishReply>;
    try {
      const producer = this.#host.identity();
      // A copy for each attempt: a runtime on another thread takes the bytes (transfers the
      // buffer), so a retry could not reuse them. Same records, same sequence.
      const request: PublishRequest = {
        payload: batch.payload.slice(),
        count: batch.messages.length,
        ...(batch.ids ? { ids: batch.ids } : {}),
        ...(producer ? { producer: { ...producer, epoch: batch.epoch, baseSequence: batch.baseSequence } } : {}),
      };
      reply = this.#host.runtime.call({ op: 'publish', topic: this.topic, partition: this.partition, request });
    } catch (error) {
      reply = Promise.reject(error);
    }
    reply.then(
      (r) => this.#confirmed(batch, r),
      (error: unknown) => this.#failed(batch, error),
    );
  }

  #confirmed(batch: Batch, reply: PublishReply): void {
    this.#known = true;
    batch.answered = true;
    batch.confirmed = true;
    // Leaves the window once nothing before it is unconfirmed (the window's span is measured from the oldest).
    while (this.#inFlight[0]?.confirmed) this.#inFlight.shift();
    const { topic, partition } = this;
    const { messages } = batch;
    for (let i = 0; i < messages.length; i++) {
      const q = messages[i]!;
      q.completion.settle(q.index, { topic, partition, offset: reply.offsets[i]!, duplicate: reply.duplicates[i]! });
    }
    this.#host.released(batch.bytes);
    // The callers these confirms resume publish again in the microtasks queued above: the next
    // batch waits for them (one batch, one write), not only for what was queued before.
    if (this.#rewinding) this.#rewind();
    else if (this.#queue.length > 0) this.#schedule();
    if (this.idle) this.#host.idle();
  }

  /** Fails every queued message with `error` (nothing of them was sent). */
  #failQueued(error: unknown): void {
    const queue = this.#queue;
    this.#queue = [];
    this.frame.clear();
    let bytes = 0;
    for (const q of queue) {
      bytes += q.bytes;
      q.completion.settle(q.index, undefined, error);
    }
    this.#host.released(bytes);
  }

  #failed(batch: Batch, error: unknown): void {
    batch.answered = true;
    batch.failure = error;
    this.#rewinding = true;
    this.#next();
  }

  #next(): void {
    if (this.#rewinding) this.#rewind();
    else this.#pump();
    if (this.idle) this.#host.idle();
  }

  /**
   * Once every batch in flight has answered, decides each failed one's fate, in sequence order:
   * resent as it was (retriable, or refused as a gap behind an earlier failure, within the
   * delivery timeout, while its epoch is not spent); or rejected for good, which spends its epoch
   * (see the top of the file).
   */
  #rewind(): void {
    if (!this.#inFlight.every((b) => b.answered)) return;
    const now = this.#host.clock.monotonicNow(); // deliveryTimeoutMs is a duration
    const resend: Batch[] = [];
    let behindFailure = false;
    for (const batch of this.#inFlight) {
      if (batch.confirmed) continue;
      const error = batch.failure;
      const gap = error instanceof FerryError && error.code === SequenceGapError.code;
      const gapBehind = gap && behindFailure;
      behindFailure = true;
      const spent = batch.epoch >= 0 && batch.epoch <= this.#spentEpoch;
      const retriable = error instanceof FerryError && (error.retriable || gapBehind);
      // In a spent epoch, a gap is final: the batch it waited for will not come again.
      if (retriable && !(spent && gap) && now - batch.startedAt < this.#host.deliveryTimeoutMs) {
        resend.push(batch);
        continue;
      }
      for (const q of batch.messages) q.completion.settle(q.index, undefined, error);
      this.#host.released(batch.bytes);
      if (batch.epoch >= 0 && batch.epoch > this.#spentEpoch) {
        this.#spentEpoch = batch.epoch;
        this.#host.renewEpoch(batch.epoch); // new batches wait for the new epoch (ready())
      }
    }
    // Confirmed batches behind a resent one keep their places: the window still spans from it.
    this.#inFlight = this.#inFlight.filter((b) => b.confirmed || resend.includes(b));
    while (this.#inFlight[0]?.confirmed) this.#inFlight.shift();
    if (resend.length === 0) {
      this.#rewinding = false;
      this.#pump();
      return;
    }
    this.#host.clock.setTimer(backoffMs(resend[0]!.attempts), () => {
      this.#rewinding = false;
      for (const batch of resend) this.#attempt(batch);
      this.#pump();
    });
  }
}
