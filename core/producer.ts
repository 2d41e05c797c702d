// The producer client: encodes each message once, queues it in its partition's lane, and numbers
// batches (producer id + epoch + sequence) so that a retried batch is appended once. Runs on the
// caller's thread; the lanes (producer-lane.ts) keep several batches in flight per partition.
//
//   publish ─► encode ─► lane[partition] ─(up to maxInFlightBatches)─► runtime.publish
//                 │ buffer full? wait                  │ failure: rewind, resend in order with
//                 ▼                                    ▼ the same sequences, after a backoff
import { InvalidArgumentError, type Clock, type Random, showValue } from '../wal/index.ts';
import { RecordSlab, encodeMessage, planMessage, writeMessageInto, type Message } from './codec.ts';
import { ClosedError, ProducerFencedError } from './errors.ts';
import { partitionOf, producerNumber } from './hash.ts';
import { checkName } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { Lane, type Completion, type LaneHost, type ProducerIdentity, type PublishResult, type Queued } from './producer-lane.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export type { PublishResult } from './producer-lane.ts';

/**
 * Keyless messages go to one partition for this many encoded bytes, then to the next (Kafka's
 * sticky partitioner, KIP-480 and KIP-794). One message to each partition in turn made a batch and
 * an fdatasync per message per partition at low rates, all partitions syncing at once; a stint
 * fills one partition's batch, and the load still spreads over all of them within a window.
 */
const STICKY_BYTES = 16 * 1024;
/**
 * A stint lasts at least this long (up to STICKY_MAX_BYTES): under load 16 KiB pass in well under
 * a millisecond, every partition then had a batch and an fdatasync of its own in each window, and
 * an fdatasync costs this VM 200-300 µs of CPU. Five milliseconds of a producer's keyless messages
 * on one partition is still spread evenly over any consumer's timescale (issue 11, W1).
 */
const STICKY_MIN_MS = 5;
/** The most a stint may take however fast the messages come (its share of one partition's batch). */
const STICKY_MAX_BYTES = 1024 * 1024;
/** Most batches in flight per partition (Kafka allows 5; the actor remembers the last 8). */
export const MAX_IN_FLIGHT_BATCHES = 5;

/**
 * Longest deliveryTimeoutMs: a partition forgets an idle producer only after PRODUCER_IDLE_MS
 * (producer-state.ts), which must outlast every retry of a batch it stored.
 */
export const MAX_DELIVERY_TIMEOUT_MS = 5 * 60_000;

/** Throws INVALID_ARGUMENT unless `value` is unset or a whole number within [min, max]. */
function wholeOrUnset(name: string, value: unknown, min: number, max: number): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)) {
    throw new InvalidArgumentError(`producer options.${name} must be a whole number from ${min} to ${max} (got ${showValue(value)})`);
  }
}

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
  /** How long a batch may keep failing with retriable errors before its messages are rejected. Default 30 s, at most 5 minutes. */
  readonly deliveryTimeoutMs?: number;
  /** Batches in flight per partition, 1 to 5. Default 4; always 1 without idempotence (a retry would reorder). */
  readonly maxInFlightBatches?: number;
}

/** What the producer needs from the engine. */
export interface ProducerHost {
  readonly runtime: PartitionRuntime;
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageBytes: number;
  topic(name: string): ResolvedTopicOptions;
  /** A new epoch for the named producer `id`, durably (the engine fences its older instances first). */
  bumpEpoch(id: string): Promise<number>;
  /** Called once the producer has closed, so the engine stops tracking it. */
  onClose?(): void;
}

/**
 * One publish() call: its message as a lane queues it, and the completion its confirm settles (the
 * promise's own resolve and reject). One object per call, not a queue entry and a completion.
 */
class OnePublish implements Queued, Completion {
  readonly bytes: number;
  readonly id: string | null;
  readonly index = 0;
  readonly #resolve: (result: PublishResult) => void;
  readonly #reject: (error: unknown) => void;

  constructor(bytes: number, id: string | null, resolve: (result: PublishResult) => void, reject: (error: unknown) => void) {
    this.bytes = bytes;
    this.id = id;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get completion(): Completion {
    return this;
  }

  settle(_index: number, result: PublishResult | undefined, error?: unknown): void {
    if (result === undefined) this.#reject(error);
    else this.#resolve(result);
  }
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

/**
 * Publishes messages. Each `publish` resolves once its message is durable in its partition; a
 * producer with an `id` is fenced when another is opened with the same id. Get one from
 * `ferry.producer()`.
 */
export class Producer {
  readonly #host: ProducerHost;
  readonly #name: string;
  /** Named producers take epochs from the catalog (fencing); anonymous ones count their own. */
  readonly #named: boolean;
  readonly #number: number;
  readonly #idempotent: boolean;
  readonly #maxBufferBytes: number;
  readonly #laneHost: LaneHost;
  readonly #lanes = new Map<string, Lane>();
  /** The same lanes by topic, then partition: no key string per message. */
  readonly #lanesByTopic = new Map<string, Lane[]>();
  #epoch: number | undefined;
  /** Why the last try for an epoch failed (a full disk, say); the next messages try again. */
  #epochError: unknown;
  /** Settles once the epoch being asked for is known, or could not be had. */
  #ready: Promise<unknown> = Promise.resolve();
  /** An epoch is being asked for (the first, a renewal, or a retry after a failure). */
  #renewing = false;
  /** Set once a newer instance with this id was opened: every publish fails with it from then on. */
  #fenced: ProducerFencedError | undefined;
  /** Encoded records are views into its slabs (a buffer per message costs more than encoding it). */
  readonly #slab = new RecordSlab();
  #bufferedBytes = 0;
  /** Calls waiting for buffer space; while there are any, later calls queue behind them (call order). */
  #waitingCalls = 0;
  #spaceWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  /** Keyless messages' partition: the current stint's index, and the bytes sent in it (see STICKY_BYTES). */
  #stint = -1; // the first message starts stint 0
  #stintBytes = 0;
  /** Bytes after which the stint's age is looked at (a clock reading per 16 KiB, not per message). */
  #stintLimit = 0;
  #stintStartedAt = Number.NEGATIVE_INFINITY;
  #closed = false;
  /** What a call after close hears (set with #closed). */
  #closedError: ClosedError | undefined;

  constructor(host: ProducerHost, options: ProducerOptions = {}) {
    this.#host = host;
    refuseUnknownOptions('producer options', options, ['id', 'idempotent', 'maxBufferBytes', 'maxBatchMessages', 'deliveryTimeoutMs', 'maxInFlightBatches']);
    if (options.id !== undefined) checkName('producer', options.id);
    if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') throw new InvalidArgumentError(`producer options.idempotent must be true or false (got ${showValue(options.idempotent)})`);
    wholeOrUnset('maxBufferBytes', options.maxBufferBytes, 1024, 2 ** 32);
    wholeOrUnset('maxBatchMessages', options.maxBatchMessages, 1, 1_000_000);
    this.#idempotent = options.idempotent ?? true;
    this.#named = options.id !== undefined;
    this.#name = options.id ?? `anonymous-${host.random.int(2 ** 31).toString(36)}-${host.random.int(2 ** 31).toString(36)}`;
    this.#number = producerNumber(`producer/${this.#name}`);
    this.#maxBufferBytes = options.maxBufferBytes ?? 32 * 1024 * 1024;
    const maxInFlight = options.maxInFlightBatches ?? 4;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT_BATCHES) {
      throw new InvalidArgumentError(`producer options.maxInFlightBatches must be an integer from 1 to ${MAX_IN_FLIGHT_BATCHES} (got ${showValue(maxInFlight)})`);
    }
    const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 30_000;
    if (typeof deliveryTimeoutMs !== 'number' || !Number.isFinite(deliveryTimeoutMs) || deliveryTimeoutMs <= 0 || deliveryTimeoutMs > MAX_DELIVERY_TIMEOUT_MS) {
      throw new InvalidArgumentError(`producer options.deliveryTimeoutMs must be a number of milliseconds above 0 and at most ${MAX_DELIVERY_TIMEOUT_MS} (got ${showValue(deliveryTimeoutMs)})`);
    }
    this.#askEpoch(options.id !== undefined ? () => host.bumpEpoch(options.id!) : () => Promise.resolve(0));
    this.#laneHost = {
      runtime: host.runtime,
      clock: host.clock,
      maxBatchMessages: options.maxBatchMessages ?? 4096,
      maxInFlight: this.#idempotent ? maxInFlight : 1,
      holdWhileUnanswered: host.runtime.placement === 'in-thread',
      deliveryTimeoutMs,
      ready: () => this.#whenReady(),
      identity: () => this.#identity(),
      renewEpoch: (failed) => this.#renewEpoch(failed),
      released: (bytes) => this.#released(bytes),
      idle: () => this.#laneIdle(),
    };
  }

  /** Publishes one message; resolves once it is durable in its partition. */
  publish(topic: string, message: Message): Promise<PublishResult> {
    let lane: Lane;
    let bytes: number;
    try {
      if (this.#fenced) throw this.#fenced;
      const options = this.#host.topic(topic);
      const plan = planMessage(message, this.#deliverAt(message), this.#host.maxMessageBytes);
      bytes = plan.bytes;
      if (!this.#takeSpace(bytes)) return this.publishMany(topic, [message]).then((results) => results[0]!);
      // Encoded straight into its lane's next batch, where it waits with the messages before it.
      lane = this.#laneFor(topic, options, message, bytes);
      writeMessageInto(plan, lane.frame);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<PublishResult>((resolve, reject) => lane.push(new OnePublish(bytes, message.id ?? null, resolve, reject)));
  }

  /** Publishes several messages to one topic; resolves with their results in order. */
  publishMany(topic: string, messages: readonly Message[]): Promise<PublishResult[]> {
    if (!Array.isArray(messages)) return Promise.reject(new InvalidArgumentError(`publishMany takes an array of messages (got ${showValue(messages)})`));
    let options: ResolvedTopicOptions;
    let records: Uint8Array[];
    try {
      // Encode everything first: one bad message rejects the call before anything is queued.
      options = this.#host.topic(topic);
      records = messages.map((m) => this.#encode(m));
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#fenced) return Promise.reject(this.#fenced);
    if (records.length === 0) return Promise.resolve([]);
    return new Promise<PublishResult[]>((resolve, reject) => {
      const completion = new ManyCompletion(records.length, resolve, reject);
      let bytes = 0;
      for (const r of records) bytes += r.length;
      const place = (): void => {
        for (let i = 0; i < records.length; i++) this.#laneFor(topic, options, messages[i]!, records[i]!.length).pushRecord(records[i]!, messages[i]!.id ?? null, completion, i);
      };
      if (this.#takeSpace(bytes)) place();
      else this.#waitForSpace(bytes).then(place, reject);
    });
  }

  #encode(message: Message): Uint8Array {
    return encodeMessage(message, this.#deliverAt(message), this.#host.maxMessageBytes, this.#slab.allocate);
  }

  /** When a message may first be delivered: 0 for at once, else now + its delayMs. */
  #deliverAt(message: Message): number {
    const delayMs = message?.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError(`delayMs must be a finite, non-negative number of milliseconds (got ${showValue(delayMs)})`);
    }
    return delayMs > 0 ? this.#host.clock.now() + delayMs : 0;
  }

  /** Counts `bytes` into the buffer if they fit now and no earlier call is waiting (an empty buffer takes anything). */
  #takeSpace(bytes: number): boolean {
    if (this.#closed || this.#waitingCalls > 0 || (this.#bufferedBytes > 0 && this.#bufferedBytes + bytes > this.#maxBufferBytes)) return false;
    this.#bufferedBytes += bytes;
    return true;
  }

  /**
   * @internal Closes it with its engine: a publish after that is told to open the engine again
   * (a new producer of a closed engine is refused too; "open a new one" misled a new user).
   */
  closeWithEngine(): Promise<void> {
    this.#closedError = new ClosedError('this producer', 'its Ferry instance was closed: open the directory again with Ferry.open to continue');
    return this.close();
  }

  /** Waits while the buffer is too full for `bytes` more, then counts them in. */
  async #waitForSpace(bytes: number): Promise<void> {
    if (this.#closed) throw this.#closedError!;
    this.#waitingCalls++;
    try {
      while (this.#bufferedBytes > 0 && this.#bufferedBytes + bytes > this.#maxBufferBytes) {
        await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
        if (this.#fenced) throw this.#fenced;
        if (this.#closed) throw this.#closedError!;
      }
    } finally {
      this.#waitingCalls--;
    }
    this.#bufferedBytes += bytes;
  }

  #released(bytes: number): void {
    this.#bufferedBytes -= bytes;
    if (this.#spaceWaiters.length > 0) for (const wake of this.#spaceWaiters.splice(0)) wake();
  }

  /** Asks for an epoch (`take` runs now); lanes wait on `#ready` meanwhile. */
  #askEpoch(take: () => Promise<number>): void {
    this.#renewing = true;
    this.#ready = take().then(
      (e) => {
        this.#epoch = e;
        this.#epochError = undefined;
        this.#renewing = false;
      },
      (error: unknown) => {
        this.#epochError = error;
        this.#renewing = false;
      },
    );
  }

  /**
   * What a lane waits on before numbering batches: undefined when identity() can answer now. A
   * failed try for an epoch (a full disk) failed the messages that waited for it; the next
   * messages try once more, so the producer works again once the cause is gone.
   */
  #whenReady(): Promise<unknown> | undefined {
    if (this.#fenced) return undefined; // identity() reports it
    if (this.#epochError !== undefined && !this.#renewing && this.#named) this.#askEpoch(() => this.#host.bumpEpoch(this.#name));
    return this.#renewing ? this.#ready : undefined;
  }

  /**
   * A batch of epoch `failed` was rejected for good, maybe stored, maybe not: its sequence numbers
   * must never carry other messages (the partition would take those for a retry and drop them).
   * The producer moves to a new epoch, where each lane starts its sequences again: a named one
   * from the catalog (as a new producer with its id would), an anonymous one by counting. A
   * fenced producer never does: a new epoch of its own would fence the newer instance in turn.
   */
  #renewEpoch(failed: number): void {
    if (this.#fenced || this.#renewing || failed !== this.#epoch || this.#epochError !== undefined) return;
    this.#askEpoch(this.#named ? () => this.#host.bumpEpoch(this.#name) : () => Promise.resolve(failed + 1));
  }

  /** The identity a request carries now; throws if fenced, or if the epoch could not be had. */
  #identity(): ProducerIdentity | undefined {
    if (this.#fenced) throw this.#fenced;
    if (this.#epochError !== undefined) throw this.#epochError;
    if (!this.#idempotent) return undefined;
    if (this.#epoch === undefined) throw new ClosedError('this producer (no epoch yet)'); // unreachable: lanes wait for ready()
    return { id: this.#number, epoch: this.#epoch, name: this.#name };
  }

  /**
   * Fences this instance (the engine does, synchronously, when a newer one with its id is opened):
   * every publish fails with PRODUCER_FENCED from now on, queued messages at once. Resolves once
   * nothing of it is in flight, so the newer instance's first publish cannot be overtaken by one
   * of this one's.
   * @internal
   */
  fence(newerEpoch: number): Promise<void> {
    this.#fenced ??= new ProducerFencedError(this.#name, this.#epoch ?? -1, newerEpoch);
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    for (const lane of this.#lanes.values()) lane.kick();
    return this.#drained();
  }

  async #drained(): Promise<void> {
    while ([...this.#lanes.values()].some((l) => !l.idle)) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * A keyless message's partition: the same one for STICKY_BYTES and STICKY_MIN_MS (at most
   * STICKY_MAX_BYTES), then the next (Kafka's sticky partitioner): batches fill instead of each
   * partition taking a message in turn.
   */
  #spread(partitions: number, bytes: number): number {
    if (this.#stintBytes >= this.#stintLimit) {
      const now = this.#host.clock.monotonicNow();
      if (now - this.#stintStartedAt < STICKY_MIN_MS && this.#stintLimit < STICKY_MAX_BYTES) this.#stintLimit += STICKY_BYTES;
      else {
        this.#stint++;
        this.#stintBytes = 0;
        this.#stintLimit = STICKY_BYTES;
        this.#stintStartedAt = now;
      }
    }
    this.#stintBytes += bytes;
    return this.#stint % partitions;
  }

  /** The lane of the partition a (valid) message of `bytes` encoded bytes goes to. */
  #laneFor(topic: string, options: ResolvedTopicOptions, message: Message, bytes: number): Lane {
    // A key picks the partition; without one, an id does (ids are deduplicated per partition, so
    // the same id must always meet the same window); without either, messages are spread.
    const partition =
      message.key !== undefined ? partitionOf(message.key, options.partitions) : message.id !== undefined ? partitionOf(`id:${message.id}`, options.partitions) : this.#spread(options.partitions, bytes);
    let lanes = this.#lanesByTopic.get(topic);
    if (!lanes) this.#lanesByTopic.set(topic, (lanes = []));
    let lane = lanes[partition];
    if (!lane) {
      lane = lanes[partition] = new Lane(topic, partition, this.#laneHost);
      this.#lanes.set(`${topic}\0${partition}`, lane);
    }
    return lane;
  }

  #laneIdle(): void {
    if (this.#drainWaiters.length === 0) return;
    for (const lane of this.#lanes.values()) if (!lane.idle) return;
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }

  /** Waits for every queued message to be confirmed or rejected, then refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closedError ??= new ClosedError('this producer');
    for (const wake of this.#spaceWaiters.splice(0)) wake();
    await this.#drained();
    this.#host.onClose?.();
  }
}
