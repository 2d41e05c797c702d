// The consumer client: one member of a consumer group. A pump per partition long-polls leased
// messages into a bounded buffer; the caller takes them by async iteration or `run()` and settles
// each with ack / nack / extend, through an ordered settle queue per partition. Runs on the
// caller's thread.
//
//   pump[p] ──fetch(max = maxInFlight - inFlight)──► buffer ──take: start──► handler ──► ack | nack
//      ▲                                                                              │
//      └──────── slot freed: settled, lease run out, or handed back unstarted ◄───────┘
//
// Leases and attempts: a fetched message is leased, but its lease is *started* only when a
// handler takes it (next() sends `start`, which restarts the lease for a full ackTimeoutMs). A
// lease that runs out before it was started goes back uncharged, and the buffer drops it; so a
// message waiting in the buffer never ages toward an attempt.
import { checkGroupPosition, type GroupPosition } from './group-position.ts';
import { FerryError, InvalidArgumentError, type Clock, type Random, type TimerHandle, showValue } from '../wal/index.ts';
import { runBatchHandlers, runHandlers, type AnyRunHandler, type BatchHandler, type ExactlyOnceHandler, type RunBatchesOptions, type RunHandler, type RunOptions, type RunSource } from './consumer-run.ts';
import { ackMany, extendMany } from './settle-many.ts';
import { SettleFaults, tellFault, type ConsumerFault } from './consumer-fault.ts';
import { deliveryIterator } from './delivery-iterator.ts';
import { DEFAULT_MAX_IN_FLIGHT, mayFetch } from './fetch-window.ts';
import { ClosedError } from './errors.ts';
import { LeasedDelivery, errorText, type Delivery, type DeliveryLane, type DeliveryOwner } from './delivery.ts';
import { DeliveryBuffer } from './delivery-buffer.ts';
import { HeldList } from './held-list.ts';
import { checkCloseOptions } from './close-options.ts';
import { checkName, checkTopicNames } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { DeliveredMessage } from './partition-api.ts';
import type { SettleItem } from './partition-protocol.ts';
import type { Ordering } from './records.ts';
import type { PartitionRuntime } from './runtime.ts';
import { SettleQueue } from './settle-queue.ts';
import type { Transaction } from './transaction.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export type { Delivery, NackOptions } from './delivery.ts';
export type { ConsumerFault, ConsumerMessageFault, ConsumerPartitionFault } from './consumer-fault.ts';
export type { BatchHandler, ExactlyOnceHandler, RunBatchesOptions, RunHandler, RunOptions } from './consumer-run.ts';

/** Options of `ferry.consumer()`. */
export interface ConsumerOptions {
  readonly topics: readonly string[];
  /**
   * Deliveries held at once: fetched into the buffer or held by handlers, unsettled. Default 256.
   * An ack or nack frees its slot when it is given, as a broker's prefetch does; up to
   * `4 × maxInFlight` acks (past one window, 64 MiB of their messages) may wait for the disk
   * before the consumer stops fetching.
   * Buffered messages are never charged an attempt, but one that waits longer than the topic's
   * `ackTimeoutMs` is handed back and fetched again: keep it near what the handlers start within
   * that time (about `concurrency × ackTimeoutMs / handler time`).
   */
  readonly maxInFlight?: number;
  /** 'key': one message per key in flight; 'partition': one per partition; default 'none'. Every consumer of a group must use the same. */
  readonly ordering?: Ordering;
  /** Long-poll wait of each fetch, 1 ms to 5 minutes. Default 1000 ms. */
  readonly pollWaitMs?: number;
  /** Where a group that does not exist yet starts on each partition (default 'earliest'); an existing group keeps its place. */
  readonly startAt?: GroupPosition;
}

/** Options of `consumer.close()`. */
export interface CloseOptions {
  /**
   * How long handlers that hold deliveries may take to settle them (their acks and nacks are
   * kept); then the rest is handed back, uncharged. Default: the longest `ackTimeoutMs` of the topics.
   */
  readonly timeoutMs?: number;
}

/** What the consumer needs from the engine. */
export interface ConsumerHost {
  readonly runtime: PartitionRuntime;
  readonly clock: Clock;
  readonly random: Random;
  topic(name: string): ResolvedTopicOptions;
  /** Called once the consumer has closed, so the engine stops tracking it. */
  onClose?(): void;
  /** A transaction for an exactlyOnce handler (issue 13). */
  transaction?(headers: Record<string, string>): Transaction;
}

/** What the messages of one fetch share (one object per fetch, not per message). */
interface Fetched extends DeliveryLane {
  /** When their leases run out unless a handler takes them (the consumer's monotonic clock). */
  readonly expiresAt: number;
}

const CONSUMER_OPTIONS = ['topics', 'maxInFlight', 'ordering', 'pollWaitMs', 'startAt'];

/** Longest backoff between retries of a failing fetch or join. */
const MAX_BACKOFF_MS = 5000;

/**
 * A member of a consumer group. Iterate it (`for await`) or `run()` a handler; settle every
 * delivery with `ack()` or `nack()`. Get one from `ferry.consumer()`; `close()` lets running
 * handlers finish and hands the rest back. A new group starts at the beginning of the log.
 */
export class Consumer<V = unknown> implements AsyncIterable<Delivery<V>> {
  readonly group: string;
  readonly #host: ConsumerHost;
  readonly #topics: readonly string[];
  readonly #partitions: readonly (readonly [string, number])[];
  readonly #maxInFlight: number;
  readonly #ordering: Ordering;
  readonly #pollWaitMs: number;
  readonly #id: string;
  /** Fetched, not yet handed out: redeliveries first (see DeliveryBuffer). */
  #buffer: DeliveryBuffer<Fetched>;
  /** Joined the group and pumping: next() may take from the buffer without waiting for #start. */
  #running = false;
  /** Slots taken: reserved by fetches, buffered, or held by handlers. */
  #inFlight = 0;
  /**
   * Acks and nacks queued, not yet answered (their slots are free again). At maxInFlight, pumps
   * wait: a disk slower than the handlers holds the consumer back instead of piling acks up.
   */
  #settlingCount = 0;
  /** Their messages' encoded bytes. */
  #settlingBytes = 0;
  /** Handed out, not settled, lease not known to be gone. */
  readonly #held = new HeldList<LeasedDelivery<V>>();
  #takers: ((message: DeliveredMessage | undefined, from?: Fetched) => void)[] = [];
  #capacityWaiters: (() => void)[] = [];
  #sleepers = new Set<() => void>();
  readonly #queues = new Map<string, SettleQueue>();
  readonly #faultListeners = new Set<(fault: ConsumerFault) => void>();
  readonly #settleFaults = new SettleFaults(this.#faultListeners);
  readonly #owner: DeliveryOwner;
  /** The shortest ackTimeoutMs of its topics (fixed once a topic exists): the sweep's pace. */
  readonly #shortestLeaseMs: number;
  #sweep: TimerHandle | undefined;
  #started: Promise<void> | undefined;
  readonly #startAt: GroupPosition | undefined;
  #failure: unknown;
  /** No more fetches or hand-outs (closing or closed). */
  #stopped = false;
  /** Settles refused: the remaining leases were handed back. */
  #closed = false;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(host: ConsumerHost, group: string, options: ConsumerOptions) {
    this.group = checkName('group', group);
    this.#host = host;
    if (options === undefined) throw new InvalidArgumentError("ferry.consumer(group, options) needs options: { topics: ['a topic', ...] }");
    refuseUnknownOptions('consumer options', options, CONSUMER_OPTIONS);
    checkTopicNames('consumer options.topics', options.topics);
    for (const t of options.topics) host.topic(t); // UNKNOWN_TOPIC now, not later
    this.#topics = [...new Set(options.topics)];
    const partitions: [string, number][] = [];
    for (const topic of this.#topics) for (let p = 0; p < host.topic(topic).partitions; p++) partitions.push([topic, p]);
    this.#partitions = partitions;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isSafeInteger(this.#maxInFlight) || this.#maxInFlight < 1 || this.#maxInFlight > 1_000_000) throw new InvalidArgumentError(`consumer options.maxInFlight must be a whole number from 1 to 1000000 (got ${showValue(options.maxInFlight)})`);
    this.#ordering = options.ordering ?? 'none';
    if (!['none', 'key', 'partition'].includes(this.#ordering)) throw new InvalidArgumentError(`consumer options.ordering must be 'none', 'key' or 'partition' (got ${showValue(options.ordering)})`);
    this.#pollWaitMs = options.pollWaitMs ?? 1000;
    if (typeof this.#pollWaitMs !== 'number' || !Number.isFinite(this.#pollWaitMs) || this.#pollWaitMs < 1 || this.#pollWaitMs > 300_000) {
      throw new InvalidArgumentError(`consumer options.pollWaitMs must be a number of ms from 1 to 300000 (got ${showValue(options.pollWaitMs)})`);
    }
    if (options.startAt !== undefined) checkGroupPosition('consumer options.startAt', options.startAt);
    this.#startAt = options.startAt;
    this.#buffer = new DeliveryBuffer(this.#maxInFlight);
    this.#shortestLeaseMs = Math.min(...this.#topics.map((t) => host.topic(t).ackTimeoutMs));
    // What every delivery of this consumer settles through (one object shared by all of them).
    this.#owner = {
      group: this.group,
      accepts: () => !this.#closed,
      done: (d) => this.#leave(d as LeasedDelivery<V>),
      settling: (d) => this.#settling(d as LeasedDelivery<V>),
      unsettling: (d) => this.#unsettling(d as LeasedDelivery<V>),
      refused: (d, error) => this.#settleFaults.report(error, d),
      ackTimeoutMs: (topic) => this.#host.topic(topic).ackTimeoutMs,
      now: () => this.#host.clock.monotonicNow(), // lease deadlines are durations: a wall-clock step must not move them
      once: (d, key) => this.#host.runtime.call({ op: 'once', topic: d.topic, partition: d.partition, group: this.group, key, offset: d.offset, token: d.token }),
    };
    this.#id = `${group}/${host.random.int(2 ** 31).toString(36)}${host.random.int(2 ** 31).toString(36)}`;
  }

  /** Listens to faults the consumer survives (a shard restarting, a timeout): it retries on its own. */
  onFault(listener: (fault: ConsumerFault) => void): () => void {
    this.#faultListeners.add(listener);
    return () => this.#faultListeners.delete(listener);
  }

  #queue(topic: string, partition: number): SettleQueue {
    const key = `${topic}/${partition}`;
    let q = this.#queues.get(key);
    if (!q) this.#queues.set(key, (q = new SettleQueue(this.#host.runtime, this.#host.clock, topic, partition, this.group)));
    return q;
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      await Promise.all(this.#partitions.map(([t, p]) => this.#joinGroup(t, p)));
      if (this.#stopped) return;
      for (const [t, p] of this.#partitions) this.#pump(t, p).catch((error: unknown) => this.#fail(error));
      this.#running = true;
    })();
    return this.#started;
  }

  /** Waits `ms`; close() wakes it (a sleeping pump must not hold close up). */
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        timer.cancel();
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = this.#host.clock.setTimer(ms, wake);
      this.#sleepers.add(wake);
    });
  }

  #backoffMs(failures: number): number {
    return Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 10));
  }

  /** A retriable failure of a join or fetch: reported, then the caller backs off and tries again (for as long as the consumer is open). */
  #fault(error: unknown, topic: string, partition: number, during: 'join' | 'fetch'): boolean {
    if (!(error instanceof FerryError && error.retriable)) return false;
    tellFault(this.#faultListeners, { error, topic, partition, during });
    return true;
  }

  /** Registers the group on a partition, retrying retriable failures (a shard restarting, say). */
  async #joinGroup(topic: string, partition: number): Promise<void> {
    for (let failures = 1; !this.#stopped; failures++) {
      try {
        await this.#host.runtime.call({ op: 'ensureGroup', topic, partition, group: this.group, ordering: this.#ordering, ...(this.#startAt && { startAt: this.#startAt }) });
        return;
      } catch (error) {
        if (this.#stopped) return;
        if (!this.#fault(error, topic, partition, 'join')) throw error;
        await this.#sleep(this.#backoffMs(failures));
      }
    }
  }

  async #pump(topic: string, partition: number): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const free = this.#maxInFlight - this.#inFlight;
      if (!this.#mayFetch()) {
        await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
        continue;
      }
      // A fair share, reserved before the fetch: pumps of other partitions fetching meanwhile see
      // it taken, and one partition long-polling an empty log cannot starve the others.
      const room = Math.max(1, Math.ceil(free / this.#partitions.length));
      this.#inFlight += room;
      let messages: DeliveredMessage[];
      try {
        messages = await this.#host.runtime.call({ op: 'fetch', topic, partition, request: { group: this.group, consumerId: this.#id, max: room, waitMs: this.#pollWaitMs } });
        failures = 0;
      } catch (error) {
        this.#freeSlots(room);
        if (this.#stopped) break;
        if (!this.#fault(error, topic, partition, 'fetch')) {
          this.#fail(error);
          break;
        }
        await this.#sleep(this.#backoffMs(++failures));
        continue;
      }
      if (messages.length < room) this.#freeSlots(room - messages.length); // give back what the fetch did not fill
      if (this.#stopped) {
        // Closing: what this fetch leased goes back at once, uncharged.
        this.#freeSlots(messages.length);
        if (messages.length > 0) this.#queue(topic, partition).push({ kind: 'release', consumerId: this.#id, offsets: messages.map((m) => m.offset) }).catch(() => {});
        break;
      }
      if (messages.length === 0) continue;
      const ackTimeoutMs = this.#host.topic(topic).ackTimeoutMs;
      const from: Fetched = { topic, partition, queue: this.#queue(topic, partition), ackTimeoutMs, expiresAt: this.#host.clock.monotonicNow() + ackTimeoutMs };
      for (const message of messages) this.#offer(message, from);
    }
  }

  #offer(message: DeliveredMessage, from: Fetched): void {
    const taker = this.#takers.shift();
    if (taker) taker(message, from);
    else {
      this.#buffer.push(message, from); // never full: fetches ask for at most the room left
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    for (const taker of this.#takers.splice(0)) taker(undefined);
  }

  #freeSlots(n: number): void {
    if (n <= 0) return;
    this.#inFlight -= n;
    this.#wakePumps();
  }

  /**
   * Pumps wake once a fetch may go (a quarter of the window free, or someone waits with nothing
   * buffered; never while the acks waiting for the disk fill their windows).
   */
  #wakePumps(): void {
    if (this.#capacityWaiters.length > 0 && this.#mayFetch()) for (const wake of this.#capacityWaiters.splice(0)) wake();
  }

  /** Room for a fetch (see core/fetch-window.ts). */
  #mayFetch(): boolean {
    return mayFetch(this.#maxInFlight, this.#inFlight, this.#buffer.size, this.#settlingCount, this.#settlingBytes);
  }

  /** A held delivery's ack or nack is queued: its slot is free now, its answer counted as settling. */
  #settling(d: LeasedDelivery<V>): void {
    if (!d.holdsSlot) return;
    d.settling = true;
    this.#settlingCount++;
    this.#settlingBytes += d.encodedBytes;
    this.#leave(d);
  }

  /** A queued ack or nack failed and may be tried again: the delivery is held again. */
  #unsettling(d: LeasedDelivery<V>): void {
    if (!d.settling) return;
    d.settling = false;
    this.#settlingCount--;
    this.#settlingBytes -= d.encodedBytes;
    d.holdsSlot = true;
    this.#held.add(d);
    this.#inFlight++;
    this.#armSweep();
  }

  /** A delivery left the window: settled (answered), or its lease is gone. */
  #leave(d: LeasedDelivery<V>): void {
    if (d.settling && !d.holdsSlot) {
      d.settling = false;
      this.#settlingCount--;
      this.#settlingBytes -= d.encodedBytes;
      this.#wakePumps();
      return;
    }
    if (!d.holdsSlot) return;
    d.holdsSlot = false;
    this.#held.delete(d);
    this.#freeSlots(1);
    if (this.#held.size === 0) this.#drained?.();
  }

  /** The next delivery, or undefined once the consumer is closing or closed. */
  next(): Promise<Delivery<V> | undefined> {
    const ready = this.takeNow();
    return ready ? Promise.resolve(ready) : this.#waitNext();
  }

  /**
   * A buffered delivery handed out now, or undefined if none is (the iterator's and run()'s
   * fast path: no promise per message while the buffer holds some).
   */
  takeNow(): Delivery<V> | undefined {
    if (!this.#running || this.#stopped || this.#failure) return undefined;
    for (let m = this.#buffer.shift(); m; m = this.#buffer.shift()) {
      const from = this.#buffer.from!;
      if (this.#buffer.size === 0) this.#wakePumps(); // ran dry: any room is worth a fetch now
      const d = this.#handOut(m, from);
      if (d) return d;
    }
    return undefined;
  }

  async #waitNext(): Promise<Delivery<V> | undefined> {
    if (this.#stopped) return undefined;
    await this.#start();
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#stopped) return undefined;
      let message = this.#buffer.shift();
      let from = message && this.#buffer.from;
      if (this.#buffer.size === 0) this.#wakePumps();
      if (!message) [message, from] = await new Promise<[DeliveredMessage | undefined, Fetched | undefined]>((resolve) => this.#takers.push((m, f) => resolve([m, f])));
      if (!message) {
        if (this.#failure && !this.#stopped) throw this.#failure;
        return undefined;
      }
      const d = this.#handOut(message, from!);
      if (d) return d;
    }
  }

  /** Starts a buffered message's lease for a handler; undefined if it cannot be handed out. */
  #handOut(message: DeliveredMessage, from: Fetched): LeasedDelivery<V> | undefined {
    const { queue } = from;
    const { offset, token } = message;
    const now = this.#host.clock.monotonicNow();
    if (from.expiresAt <= now) {
      // Its lease ran out in the buffer: the partition hands it back uncharged; fetch it again.
      this.#freeSlots(1);
      return undefined;
    }
    let d: LeasedDelivery<V>;
    try {
      d = new LeasedDelivery<V>(from, message, this.#owner, now);
    } catch (error) {
      // A value that does not decode would fail every attempt: dead-letter it with the reason.
      this.#freeSlots(1);
      const item: SettleItem = { kind: 'nack', offset, token, options: { deadLetter: true, error: `could not decode the message: ${errorText(error)}` } };
      queue.push(item).catch(() => {});
      return undefined;
    }
    this.#held.add(d);
    this.#armSweep();
    queue.start(d); // its start item, unless its ack or nack comes in this turn
    return d;
  }

  /**
   * Frees the slots of held deliveries whose lease ran out, so a forgotten message cannot wedge the
   * consumer. The sweep runs when the earliest lease runs out (not on a fixed beat: a slot freed
   * late is a redelivery late), at most every 10 ms, and at least once per shortest lease (a
   * delivery handed out after it was armed runs out no earlier than that).
   */
  #armSweep(delayMs = Math.max(10, this.#shortestLeaseMs / 4)): void {
    if (this.#sweep || this.#held.size === 0) return;
    this.#sweep = this.#host.clock.setTimer(delayMs, () => {
      this.#sweep = undefined;
      const now = this.#host.clock.monotonicNow();
      let earliest = Number.POSITIVE_INFINITY;
      this.#held.forEach((d) => {
        if (d.deadline <= now) this.#leave(d);
        else earliest = Math.min(earliest, d.deadline);
      });
      this.#armSweep(Math.max(10, Math.min(earliest - now, this.#shortestLeaseMs)));
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery<V>> {
    return deliveryIterator<V>(this); // leaving a `for await` closes the consumer
  }

  /**
   * Runs `handler` on each delivery, `concurrency` (default 1) at a time, until the consumer is
   * closed: resolving acks the message, throwing nacks it with the error. A handler takes its next
   * delivery as soon as it returns (the ack is applied meanwhile; a failed one stops the run).
   * Resolves once every handler it started is done and its outcome applied; rejects (after stopping the consumer and letting the other
   * handlers finish) if a delivery cannot be settled for a reason that is not retriable.
   * With `{ exactlyOnce: true }` the handler's second argument is a transaction: its publishes and
   * the delivery's ack commit as one (issue 13); without it, the second argument is undefined,
   * and the types say so: `tx` is a `Transaction` only in a call whose options say
   * `exactlyOnce: true` (a new-user trial found `tx` typed as one and undefined at run time).
   */
  run(handler: ExactlyOnceHandler<V>, options: RunOptions & { readonly exactlyOnce: true }): Promise<void>;
  /** Runs `handler` on each delivery (see above); without `exactlyOnce` there is no `tx`. */
  run(handler: RunHandler<V>, options?: RunOptions & { readonly exactlyOnce?: false }): Promise<void>;
  /** `exactlyOnce` known only at run time (a `boolean`): `tx` is a transaction when it is true, else undefined. */
  run(handler: (delivery: Delivery<V>, tx: Transaction | undefined) => Promise<void> | void, options?: RunOptions): Promise<void>;
  run(handler: AnyRunHandler<V>, options: RunOptions = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new ClosedError(`consumer of group ${this.group}`));
    return runHandlers<V>(this.#runSource(), handler, options);
  }

  /**
   * Runs `handler` on batches of deliveries, `concurrency` (default 1) batches at a time, until the
   * consumer is closed. A batch holds what is ready now: at least one delivery, at most
   * `maxBatchSize` (default 100), never waiting to fill. Resolving acks every delivery of the batch
   * the handler did not settle itself (their acks travel together); throwing nacks each of them
   * with the error. Resolves and rejects as `run()` does.
   */
  runBatches(handler: BatchHandler<V>, options: RunBatchesOptions = {}): Promise<void> {
    if (this.#stopped) return Promise.reject(new ClosedError(`consumer of group ${this.group}`));
    return runBatchHandlers<V>(this.#runSource(), handler, options);
  }

  /**
   * Acks every delivery of `deliveries` with one promise: resolves once all are durable. If some
   * cannot be acked, rejects (after every answer is in) with PARTLY_SETTLED, whose `failures`
   * lists them; the others stay acked.
   */
  ackMany(deliveries: readonly Delivery<V>[]): Promise<void> {
    return ackMany(deliveries, this.#isOurs);
  }

  /**
   * Extends the lease of every delivery of `deliveries` to end `ms` (default: each topic's
   * `ackTimeoutMs`) from now, with one promise: for a batch handler that takes long. One command
   * per partition; resolves once every lease is extended. If some cannot be (already settled, lease
   * gone, a timeout), rejects once every answer is in with PARTLY_EXTENDED, whose `failures` lists
   * them; the others stay extended. INVALID_ARGUMENT, with nothing extended, for a bad `ms` or
   * anything but an array of this consumer's deliveries.
   */
  extendMany(deliveries: readonly Delivery<V>[], ms?: number): Promise<void> {
    return extendMany(deliveries, ms, this.#isOurs);
  }

  /** Handed out by this consumer (ackMany and extendMany refuse any other). */
  readonly #isOurs = (d: Delivery): boolean => d instanceof LeasedDelivery && d.belongsTo(this.#owner);

  #runSource(): RunSource<V> {
    return {
      consumer: this,
      next: () => this.next(),
      takeNow: () => this.takeNow(),
      stop: () => void this.close(),
      sleep: (ms) => this.#sleep(ms),
      now: () => this.#host.clock.monotonicNow(),
      fault: (error, d, during) => this.#settleFaults.tell(error, d, during),
      ...(this.#host.transaction ? { transaction: (headers: Record<string, string>) => this.#host.transaction!(headers) } : {}),
    };
  }

  #stop(): void {
    this.#stopped = true;
    for (const taker of this.#takers.splice(0)) taker(undefined);
    for (const wake of this.#capacityWaiters.splice(0)) wake();
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Empties the buffer: its messages were never handed to a handler. */
  #takeBuffered(): Map<string, { topic: string; partition: number; offsets: number[] }> {
    const byPartition = new Map<string, { topic: string; partition: number; offsets: number[] }>();
    for (let m = this.#buffer.shift(); m; m = this.#buffer.shift()) {
      const b = this.#buffer.from!;
      const key = `${b.topic}/${b.partition}`;
      let entry = byPartition.get(key);
      if (!entry) byPartition.set(key, (entry = { topic: b.topic, partition: b.partition, offsets: [] }));
      entry.offsets.push(m.offset);
      this.#freeSlots(1);
    }
    return byPartition;
  }

  /**
   * Stops this consumer as a crash would: no more fetches, and its leases are *not* handed back:
   * they expire and are redelivered (charging an attempt if a handler held them). For fault drills
   * and the simulator; a consumer that is done should `close()`.
   */
  abandon(): void {
    this.#stop();
    this.#closed = true;
    this.#buffer = new DeliveryBuffer(1);
    // A dead process's pending fetches go with its connection; its leases stay until they expire.
    for (const [topic, p] of this.#partitions) void this.#queue(topic, p).push({ kind: 'release', consumerId: this.#id, leases: false }).catch(() => {});
    this.#host.onClose?.(); // a dead process's member is gone: its group can be reset or deleted
  }

  /**
   * Closes the consumer gracefully: stops fetching, hands back at once (uncharged) what no handler
   * took, lets handlers holding deliveries finish within `timeoutMs` (their acks and nacks are
   * kept), then hands the rest back uncharged. Resolves once that is done; `run()` resolves when
   * its handlers are. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    try {
      checkCloseOptions(options); // refused as a rejection, before anything closes (the second new-user trial: it threw)
    } catch (error) {
      return Promise.reject(error);
    }
    const timeoutMs = options.timeoutMs ?? Math.max(...this.#topics.map((t) => this.#host.topic(t).ackTimeoutMs));
    this.#closing ??= (async () => {
      this.#stop();
      // What no handler took goes back now (and parked fetches are answered).
      const buffered = this.#takeBuffered();
      const handBack = (this.#started ? this.#partitions : []).map(([topic, partition]) => {
        const offsets = buffered.get(`${topic}/${partition}`)?.offsets ?? [];
        return this.#queue(topic, partition).push({ kind: 'release', consumerId: this.#id, offsets }).catch(() => {});
      });
      // Pumps are not awaited: a fetch in flight may take its whole deadline; when it returns,
      // its pump hands back what it leased.
      await Promise.all(handBack);
      // Handlers still holding deliveries may settle them, up to the deadline.
      if (this.#held.size > 0 && timeoutMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = this.#host.clock.setTimer(timeoutMs, () => resolve(), { keepAlive: true });
          this.#drained = () => {
            timer.cancel();
            resolve();
          };
        });
      }
      this.#closed = true;
      this.#sweep?.cancel();
      if (this.#started) {
        // The rest goes back uncharged; a late ack of it will be refused.
        await Promise.allSettled(this.#partitions.map(([topic, p]) => this.#queue(topic, p).push({ kind: 'release', consumerId: this.#id })));
      }
      for (const d of this.#held.toArray()) this.#leave(d);
    })().finally(() => this.#host.onClose?.());
    return this.#closing;
  }
}
