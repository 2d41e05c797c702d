// The producer client: encodes each message once, batches per partition while the previous batch
// of that partition is in flight, and numbers batches (producer id + epoch + sequence) so that a
// retried batch is appended once. Runs on the caller's thread.
//
//   publish ─► encode ─► lane[partition].queue ─(one batch in flight per lane)─► runtime.publish
//                 │ buffer full? wait                                   │ retriable error: same
//                 ▼                                                     ▼ sequence, after a backoff
import { FerryError, InvalidArgumentError, type Clock, type Random } from '../wal/index.ts';
import { encodeMessage, frameMessages, type Message } from './codec.ts';
import { ClosedError, ProducerFencedError } from './errors.ts';
import { partitionOf, producerNumber } from './hash.ts';
import { checkName } from './names.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** Options of `ferry.producer()`. */
export interface ProducerOptions {
  /** A stable id: reopening a producer with the same id fences the older instance. */
  readonly id?: string;
  /** Number batches so a retried one is appended once. Default true. */
  readonly idempotent?: boolean;
  /** Bytes of messages buffered before `publish` waits. Default 32 MiB. */
  readonly maxBufferBytes?: number;
  /** Most messages in one batch. Default 4096. */
  readonly maxBatchMessages?: number;
  /** How long a batch may keep failing with retriable errors before its messages are rejected. Default 30 s. */
  readonly deliveryTimeoutMs?: number;
}

/** Where a published message landed. */
export interface PublishResult {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** True when an earlier copy (same message id, or a retried batch) was stored instead. */
  readonly duplicate: boolean;
}

/** What the producer needs from the engine. */
export interface ProducerHost {
  readonly runtime: PartitionRuntime;
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageBytes: number;
  topic(name: string): ResolvedTopicOptions;
  bumpEpoch(id: string): Promise<number>;
  currentEpoch(id: string): number | undefined;
  /** Called once the producer has closed, so the engine stops tracking it. */
  onClose?(): void;
}

/** Where queued messages report: one per publish()/publishMany() call, not one per message. */
interface Completion {
  settle(index: number, result: PublishResult | undefined, error?: unknown): void;
}

interface Queued {
  readonly record: Uint8Array;
  readonly id: string | null;
  readonly completion: Completion;
  readonly index: number;
}

/** Resolves with every message's result once all are confirmed; rejects on the first failure. */
class ManyCompletion implements Completion {
  readonly #results: PublishResult[];
  #remaining: number;
  #done = false;
  readonly #resolve: (results: PublishResult[]) => void;
  readonly #reject: (error: unknown) => void;

  constructor(count: number, resolve: (results: PublishResult[]) => void, reject: (error: unknown) => void) {
    this.#results = new Array<PublishResult>(count);
    this.#remaining = count;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  settle(index: number, result: PublishResult | undefined, error?: unknown): void {
    if (this.#done) return;
    if (result === undefined) {
      this.#done = true;
      this.#reject(error);
      return;
    }
    this.#results[index] = result;
    if (--this.#remaining === 0) {
      this.#done = true;
      this.#resolve(this.#results);
    }
  }
}

interface Lane {
  readonly topic: string;
  readonly partition: number;
  queue: Queued[];
  inFlight: boolean;
  nextSequence: number;
}

/**
 * Publishes messages. Each `publish` resolves once its message is durable in its partition; a
 * producer with an `id` is fenced when another is opened with the same id. Get one from
 * `ferry.producer()`.
 */
export class Producer {
  readonly #host: ProducerHost;
  readonly #name: string;
  readonly #number: number;
  readonly #idempotent: boolean;
  readonly #maxBufferBytes: number;
  readonly #maxBatch: number;
  readonly #deliveryTimeoutMs: number;
  readonly #epoch: Promise<number>;
  readonly #lanes = new Map<string, Lane>();
  #bufferedBytes = 0;
  #spaceWaiters: (() => void)[] = [];
  #roundRobin = 0;
  #closed = false;
  #flushes = new Set<Promise<void>>();

  constructor(host: ProducerHost, options: ProducerOptions = {}) {
    this.#host = host;
    if (options.id !== undefined) checkName('producer', options.id);
    this.#idempotent = options.idempotent ?? true;
    this.#name = options.id ?? `anonymous-${host.random.int(2 ** 31).toString(36)}-${host.random.int(2 ** 31).toString(36)}`;
    this.#number = producerNumber(`producer/${this.#name}`);
    this.#maxBufferBytes = options.maxBufferBytes ?? 32 * 1024 * 1024;
    this.#maxBatch = options.maxBatchMessages ?? 4096;
    this.#deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
    this.#epoch = options.id !== undefined ? host.bumpEpoch(options.id) : Promise.resolve(0);
    this.#epoch.catch(() => {});
  }

  /** Publishes one message; resolves once it is durable in its partition. */
  publish(topic: string, message: Message): Promise<PublishResult> {
    return this.publishMany(topic, [message]).then((results) => results[0]!);
  }

  /** Publishes several messages to one topic; resolves with their results in order. */
  publishMany(topic: string, messages: readonly Message[]): Promise<PublishResult[]> {
    if (!Array.isArray(messages)) return Promise.reject(new InvalidArgumentError('publishMany takes an array of messages'));
    let options: ResolvedTopicOptions;
    let records: Uint8Array[];
    try {
      // Encode everything first: one bad message rejects the call before anything is queued.
      options = this.#host.topic(topic);
      records = messages.map((m) => this.#encode(m));
    } catch (error) {
      return Promise.reject(error);
    }
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<PublishResult[]>((resolve, reject) => {
      const completion = new ManyCompletion(records.length, resolve, reject);
      let bytes = 0;
      for (const r of records) bytes += r.length;
      this.#waitForSpace(bytes).then(
        () => records.forEach((record, i) => this.#place(topic, options, messages[i]!, record, completion, i)),
        reject,
      );
    });
  }

  #encode(message: Message): Uint8Array {
    const delayMs = message?.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError(`delayMs must be a finite, non-negative number of milliseconds (got ${String(delayMs)})`);
    }
    return encodeMessage(message, delayMs > 0 ? this.#host.clock.now() + delayMs : 0, this.#host.maxMessageBytes);
  }

  /** Waits while the buffer is too full for `bytes` more (an empty buffer takes anything). */
  async #waitForSpace(bytes: number): Promise<void> {
    if (this.#closed) throw new ClosedError('this producer');
    while (this.#bufferedBytes > 0 && this.#bufferedBytes + bytes > this.#maxBufferBytes) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
      if (this.#closed) throw new ClosedError('this producer');
    }
    this.#bufferedBytes += bytes;
  }

  /** Puts an encoded message in its partition's lane (its bytes already counted in the buffer). */
  #place(topic: string, options: ResolvedTopicOptions, message: Message, record: Uint8Array, completion: Completion, index: number): void {
    // A key picks the partition; without one, an id does (ids are deduplicated per partition, so
    // the same id must always meet the same window); without either, messages are spread.
    const partition =
      message.key !== undefined ? partitionOf(message.key, options.partitions) : message.id !== undefined ? partitionOf(`id:${message.id}`, options.partitions) : this.#roundRobin++ % options.partitions;
    const laneKey = `${topic}\0${partition}`;
    let lane = this.#lanes.get(laneKey);
    if (!lane) this.#lanes.set(laneKey, (lane = { topic, partition, queue: [], inFlight: false, nextSequence: 0 }));
    lane.queue.push({ record, id: message.id ?? null, completion, index });
    if (lane.queue.length === 1 && !lane.inFlight) {
      const target = lane;
      queueMicrotask(() => this.#flush(target)); // linger one tick
    }
  }

  #flush(lane: Lane): void {
    if (lane.inFlight || lane.queue.length === 0) return;
    lane.inFlight = true;
    const batch = lane.queue.splice(0, this.#maxBatch);
    const flush = this.#send(lane, batch).finally(() => {
      this.#flushes.delete(flush);
      lane.inFlight = false;
      let freed = 0;
      for (const q of batch) freed += q.record.length;
      this.#bufferedBytes -= freed;
      for (const wake of this.#spaceWaiters.splice(0)) wake();
      this.#flush(lane);
    });
    this.#flushes.add(flush);
  }

  async #send(lane: Lane, batch: Queued[]): Promise<void> {
    const started = this.#host.clock.now();
    try {
      const epoch = await this.#epoch;
      const ids = batch.some((q) => q.id !== null) ? batch.map((q) => q.id) : undefined;
      // Framed afresh for each attempt: a runtime on another thread takes the bytes (transfers
      // the buffer), so a retry cannot reuse them. Same records, same sequence.
      const request = () => ({
        payload: frameMessages(batch.map((q) => q.record)),
        count: batch.length,
        ...(ids ? { ids } : {}),
        ...(this.#idempotent ? { producer: { id: this.#number, epoch, baseSequence: lane.nextSequence, name: this.#name } } : {}),
      });
      for (let attempt = 1; ; attempt++) {
        const current = this.#host.currentEpoch(this.#name);
        if (current !== undefined && current > epoch && this.#idempotent) throw new ProducerFencedError(this.#name, epoch, current);
        try {
          const reply = await this.#host.runtime.publish(lane.topic, lane.partition, request());
          if (this.#idempotent) lane.nextSequence += batch.length;
          batch.forEach((q, i) => q.completion.settle(q.index, { topic: lane.topic, partition: lane.partition, offset: reply.offsets[i]!, duplicate: reply.duplicates[i]! }));
          return;
        } catch (error) {
          const retriable = error instanceof FerryError && error.retriable;
          if (!retriable || this.#host.clock.now() - started >= this.#deliveryTimeoutMs) throw error;
          // Same payload, same sequence: if the first try was appended after all, this one is a duplicate.
          await new Promise<void>((resolve) => this.#host.clock.setTimer(Math.min(1000, 10 * 2 ** attempt), resolve));
        }
      }
    } catch (error) {
      for (const q of batch) q.completion.settle(q.index, undefined, error);
    }
  }

  /** Waits for every queued message to be confirmed or rejected, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    while (this.#flushes.size > 0 || [...this.#lanes.values()].some((l) => l.queue.length > 0)) {
      for (const lane of this.#lanes.values()) this.#flush(lane);
      await Promise.allSettled([...this.#flushes]);
    }
    this.#host.onClose?.();
  }
}
