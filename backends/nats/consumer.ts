// The consumer on NATS: pulls from the group's durable consumers (one per topic, or one per
// partition for ordered groups) into a bounded buffer, hands messages out as leased deliveries,
// and settles them with JetStream's acks. Caller's thread.
//
//   pump per durable consumer ─ fetch(≤ free slots) ─► buffer ─ next() ─► JetStreamDelivery ─► ack/nack/extend
//
// Slots (maxInFlight) count what fetches asked for, what is buffered and what handlers hold, so a
// slow handler slows the pulls instead of filling memory (NATS's own slow-consumer limit is never
// reached: the server sends only what a pull asked for).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { JsMsg } from '@nats-io/jetstream';
import { FerryError, InvalidArgumentError, SeededRandom, BoundedFifo, showValue } from '../../wal/index.ts';
import {
  backoffDelayMs,
  checkTopicNames,
  refuseUnknownOptions,
  ackMany,
  extendMany,
  SettleFaults,
  tellFault,
  runBatchHandlers,
  runHandlers,
  deliveryIterator,
  type BatchHandler,
  type CloseOptions,
  type ConsumerFault,
  type ConsumerOptions,
  type Delivery,
  type Ordering,
  type ResolvedTopicOptions,
  type RunBatchesOptions,
  type RunHandler,
  type RunOptions,
  type RunSource,
} from '../../core/index.ts';
import { checkCloseOptions } from '../../core/close-options.ts';
import { DEFAULT_MAX_IN_FLIGHT } from '../../core/fetch-window.ts';
import { deadLetter } from './dead-letter.ts';
import { leaseMarginMs, JetStreamDelivery, type NatsDeliveryOwner } from './delivery.ts';
import type { NatsConsumer } from './types.ts';
import { BackendUnavailableError, UnsupportedFeatureError } from './errors.ts';
import { alignGroups, joinGroup, type GroupMember } from './groups.ts';
import { withDeadline, type NatsLink } from './link.ts';
import { partitionOfSubject } from './mapping.ts';
import { decodePayload } from './payload.ts';
import type { NatsTopics } from './topics.ts';
import type { NatsRecorder } from './metrics-recorder.ts';
import type { NatsOnceKeys } from './once-keys.ts';

/** What a consumer needs from its Ferry instance. */
export interface NatsConsumerHost {
  readonly link: NatsLink;
  readonly topics: NatsTopics;
  readonly recorder: NatsRecorder;
  readonly onceKeys: NatsOnceKeys;
  onClose(): void;
}

interface Arrived {
  readonly msg: JsMsg;
  readonly topic: string;
  /** Monotonic ms. */
  readonly receivedAt: number;
}

// perf_hooks' performance, not the global: the global is a lazy getter that costs more than the call.
const now = (): number => performance.now();

/** A member of a consumer group on NATS (see NatsConsumer in types.ts). */
export class JetStreamConsumer<V = unknown> implements NatsConsumer<V> {
  readonly group: string;
  readonly #host: NatsConsumerHost;
  readonly #topicNames: readonly string[];
  readonly #maxInFlight: number;
  readonly #ordering: Ordering;
  readonly #pollWaitMs: number;
  readonly #random = new SeededRandom((Date.now() ^ (process.pid << 16)) >>> 0);
  readonly #buffer: BoundedFifo<Arrived>;
  readonly #held = new Set<JetStreamDelivery<V>>();
  readonly #takers: (() => void)[] = [];
  readonly #slotWaiters: (() => void)[] = [];
  readonly #faultListeners = new Set<(fault: ConsumerFault) => void>();
  readonly #settleFaults = new SettleFaults(this.#faultListeners);
  readonly #owner: NatsDeliveryOwner;
  /** Slots taken: asked for by fetches in flight, buffered, or held by handlers. */
  #inFlight = 0;
  #started: Promise<void> | undefined;
  #stopped = false;
  #abandoned = false;
  #closed = false;
  /** Settles when every pull has ended (what they bring after a close is handed back). */
  #pumps: Promise<void> = Promise.resolve();
  #failed: { error: unknown } | undefined;
  #closing: Promise<void> | undefined;
  #handedBack: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(host: NatsConsumerHost, group: string, options: ConsumerOptions) {
    if (options === undefined) throw new InvalidArgumentError("ferry.consumer(group, options) needs options: { topics: ['a topic', ...] }");
    refuseUnknownOptions('consumer options', options, ['topics', 'maxInFlight', 'ordering', 'pollWaitMs']);
    checkTopicNames('consumer options.topics', options.topics);
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 100_000) throw new InvalidArgumentError(`consumer maxInFlight must be a whole number from 1 to 100000 (got ${showValue(maxInFlight)})`);
    const ordering = options.ordering ?? 'none';
    if (ordering !== 'none' && ordering !== 'key' && ordering !== 'partition') throw new InvalidArgumentError(`consumer ordering must be 'none', 'key' or 'partition' (got ${showValue(ordering)})`);
    const pollWaitMs = options.pollWaitMs ?? 1000;
    if (!Number.isSafeInteger(pollWaitMs) || pollWaitMs < 1 || pollWaitMs > 300_000) throw new InvalidArgumentError(`consumer pollWaitMs must be a whole number from 1 to 300000 (got ${showValue(pollWaitMs)})`);
    this.group = group;
    this.#host = host;
    this.#topicNames = [...new Set(options.topics)];
    this.#maxInFlight = maxInFlight;
    this.#ordering = ordering;
    // A JetStream pull waits at least 1 s (the client refuses less).
    this.#pollWaitMs = Math.max(1000, pollWaitMs);
    this.#buffer = new BoundedFifo(maxInFlight);
    this.#owner = this.#makeOwner();
  }

  #makeOwner(): NatsDeliveryOwner {
    const { link, topics, recorder } = this.#host;
    return {
      group: this.group,
      id: randomUUID(),
      onceKeys: this.#host.onceKeys,
      accepts: () => !this.#closed,
      now,
      optionsOf: (topic) => topics.cached(topic),
      confirm: (msg, what) => link.acks.confirm(msg, what),
      deadLetter: async (d, lastError) => {
        const attempts = Math.min(d.attempt, d.options.maxDeliveries);
        if (attempts >= d.options.maxDeliveries) recorder.maxDeliveriesReached(this.group, d, attempts, lastError);
        await deadLetter(link, topics, this.group, d, attempts, lastError);
        recorder.deadLettered(this.group, d, attempts, lastError);
      },
      backoffMs: (options, attempt) => backoffDelayMs(options.backoff, attempt, this.#random),
      settled: (d, outcome) => {
        recorder.settled(this.group, d, outcome, now());
        this.#leave(d as JetStreamDelivery<V>);
      },
      expired: (d) => this.#expire(d as JetStreamDelivery<V>),
      refused: (d, error) => this.#settleFaults.report(error, d),
    };
  }

  /** Listens to faults the consumer survives (a failed pull, retried with backoff). Returns the unsubscribe function. */
  onFault(listener: (fault: ConsumerFault) => void): () => void {
    this.#faultListeners.add(listener);
    return () => this.#faultListeners.delete(listener);
  }

  /** A join or pull that failed (retried with backoff); -1 for a join, which covers the whole topic. */
  #fault(error: unknown, topic: string, partition: number | undefined, during: 'join' | 'fetch'): void {
    const typed = error instanceof FerryError ? error : new BackendUnavailableError('a pull', this.#host.link.settings.servers, this.#pollWaitMs, { cause: error });
    tellFault(this.#faultListeners, { error: typed, topic, partition: partition ?? -1, during });
  }

  #start(): Promise<void> {
    this.#started ??= this.#join().catch((error: unknown) => {
      this.#failed = { error };
      this.#stop();
    });
    return this.#started;
  }

  /** Joins the group on every topic; a transient failure (no leader yet, a lost connection) is reported and retried. */
  async #join(): Promise<void> {
    const members: GroupMember[] = [];
    const { link, topics } = this.#host;
    for (const topic of this.#topicNames) {
      for (let failures = 0; ; failures++) {
        try {
          // Read from the servers, not the cache: a group's new consumers get the AckWait of now.
          const options = await topics.current(topic);
          members.push(...(await joinGroup(link, topic, options, this.group, this.#ordering)));
          // An alterTopic between that read and the join did not see a consumer made just now.
          const after = await topics.current(topic);
          if (after.ackTimeoutMs !== options.ackTimeoutMs) await alignGroups(link, topic, after);
          break;
        } catch (error) {
          if (!(error instanceof FerryError && error.retriable) || this.#stopped) throw error;
          this.#fault(error, topic, undefined, 'join');
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** failures)));
        }
      }
    }
    if (this.#stopped) return;
    const share = this.#ordering === 'none' ? Math.max(1, Math.ceil(this.#maxInFlight / members.length)) : 1;
    // Two pulls per consumer, each for half its share: while one delivers, the other waits on the
    // server, so messages keep coming instead of stopping for a round trip after every batch.
    const pulls = share >= 2 ? 2 : 1;
    const chunk = Math.ceil(share / pulls);
    this.#pumps = Promise.all(members.flatMap((member) => Array.from({ length: pulls }, () => this.#pump(member, chunk)))).then(() => {});
    this.#unwatch = topics.onChange((topic, before, after) => this.#optionsChanged(topic, before, after));
    this.#startSweep();
  }

  /** Expired leases free their slots (as the embedded consumer's sweep does), checked ten times per shortest lease. */
  #startSweep(): void {
    clearInterval(this.#sweep);
    const shortestAckMs = Math.min(...this.#topicNames.map((t) => this.#host.topics.cached(t)?.ackTimeoutMs ?? 30_000));
    this.#sweep = setInterval(() => {
      const t = now();
      for (const d of this.#held) if (d.deadline <= t) this.#expire(d);
    }, Math.max(10, Math.min(1000, Math.floor(shortestAckMs / 10))));
    this.#sweep.unref();
  }

  /**
   * A topic's options changed (alterTopic, here or in another process). JetStream measures every
   * pending message against the new AckWait, so a shorter one shortens the leases held here by as
   * much: a settle after the server's redelivery must stay refused.
   */
  #optionsChanged(topic: string, before: ResolvedTopicOptions, after: ResolvedTopicOptions): void {
    if (!this.#topicNames.includes(topic) || this.#closed || after.ackTimeoutMs === before.ackTimeoutMs) return;
    const lease = (o: ResolvedTopicOptions): number => o.ackTimeoutMs - leaseMarginMs(o.ackTimeoutMs);
    const cut = lease(before) - lease(after);
    if (cut > 0) for (const d of this.#held) if (d.topic === topic) d.deadline -= cut;
    this.#startSweep();
  }

  async #pump(member: GroupMember, chunk: number): Promise<void> {
    for (let failures = 0; !this.#stopped; ) {
      const want = await this.#reserve(chunk);
      if (want === 0) return;
      let got = 0;
      try {
        // Not stopped on close: a stopped pull drops what it already received (unacked, so
        // redelivered only after AckWait); it ends by itself within pollWaitMs instead.
        const batch = await member.handle.fetch({ max_messages: want, expires: this.#pollWaitMs });
        for await (const msg of batch) {
          got++;
          if (this.#abandoned) {
            this.#release(1); // a crash: it comes back after AckWait
          } else if (this.#buffer.push({ msg, topic: member.topic, receivedAt: now() })) {
            // (After a close it is handed back once the pulls ended: see close().)
            this.#takers.shift()?.();
          } else {
            // Cannot happen while slots bound the pulls (the buffer holds maxInFlight); if it did, hand it back.
            msg.nak();
            this.#release(1);
          }
        }
        failures = 0;
      } catch (error) {
        if (this.#stopped) return;
        this.#fault(error, member.topic, member.partition, 'fetch');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** failures++)));
      } finally {
        this.#release(want - got);
      }
    }
  }

  /**
   * Waits until half of `most` slots are free (a pull for a handful would cost a round trip for
   * each handful) and takes up to `most`; 0 once stopped. Half always comes: the other pull holds
   * at most its own `most`, and held deliveries end (settled or expired).
   */
  async #reserve(most: number): Promise<number> {
    const least = Math.ceil(most / 2);
    while (!this.#stopped && this.#maxInFlight - this.#inFlight < least) await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    if (this.#stopped) return 0;
    const n = Math.min(most, this.#maxInFlight - this.#inFlight);
    this.#inFlight += n;
    return n;
  }

  #release(n: number): void {
    if (n <= 0) return;
    this.#inFlight -= n;
    for (const wake of this.#slotWaiters.splice(0)) wake();
  }

  /** A lease that ran out while a handler held it (not one being settled): counted once, and its slot freed. */
  #expire(d: JetStreamDelivery<V>): void {
    if (this.#held.has(d) && !d.settled) this.#host.recorder.expired(this.group, d);
    this.#leave(d);
  }

  #leave(d: JetStreamDelivery<V>): void {
    if (!this.#held.delete(d)) return;
    this.#release(1);
    if (this.#held.size === 0) this.#drained?.();
  }

  /** The next delivery, waiting for one; undefined once the consumer is closed. */
  async next(): Promise<Delivery<V> | undefined> {
    if (this.#stopped) return undefined;
    void this.#start();
    for (;;) {
      if (this.#failed) throw this.#failed.error;
      const arrived = this.#buffer.shift();
      if (arrived) {
        const d = this.#handOut(arrived);
        if (d) return d;
        continue;
      }
      if (this.#stopped) return undefined;
      await new Promise<void>((resolve) => this.#takers.push(resolve));
    }
  }

  /** A buffered delivery handed out now, or undefined if none is (run(), batches and the iterator take these first). */
  takeNow(): Delivery<V> | undefined {
    if (this.#stopped || this.#failed) return undefined;
    for (let a = this.#buffer.shift(); a; a = this.#buffer.shift()) {
      const d = this.#handOut(a);
      if (d) return d;
    }
    return undefined;
  }

  /** Turns a buffered message into a delivery, or settles it here (stale, another group's, past maxDeliveries). */
  #handOut(a: Arrived): JetStreamDelivery<V> | undefined {
    const options = this.#host.topics.cached(a.topic) as ResolvedTopicOptions;
    const t = now();
    const margin = leaseMarginMs(options.ackTimeoutMs);
    const age = t - a.receivedAt;
    // Waited in the buffer past its AckWait: the server has redelivered it (or will), drop this copy.
    if (age >= options.ackTimeoutMs - margin) {
      this.#release(1);
      return undefined;
    }
    const payload = decodePayload(a.msg.data);
    const partition = partitionOfSubject(a.msg.subject);
    let deadline = a.receivedAt + options.ackTimeoutMs - margin;
    // A lease starts when a handler takes the message: restart the server's AckWait if it aged.
    if (age > margin) {
      a.msg.working();
      deadline = t + options.ackTimeoutMs - margin;
    }
    if (payload.onlyGroup !== undefined && payload.onlyGroup !== this.group) {
      // A redriven copy meant for another group: settled here, unseen (and not counted).
      void this.#owner.confirm(a.msg, 'ack').catch(() => {}).finally(() => this.#release(1));
      return undefined;
    }
    const d = new JetStreamDelivery<V>(a.msg, a.topic, partition, payload, options, deadline, this.#owner);
    this.#held.add(d);
    if (d.attempt > options.maxDeliveries) {
      // Its last lease expired (or a crash came between the letter and TERM): dead-letter it now.
      void this.#owner.deadLetter(d, 'its lease expired on the last attempt (no ack or nack within ackTimeoutMs)').then(() => this.#leave(d), () => this.#leave(d));
      return undefined;
    }
    this.#host.recorder.delivered(this.group, d);
    return d;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery<V>> {
    return deliveryIterator<V>(this); // leaving a `for await` closes the consumer
  }

  /**
   * Runs `handler` on each delivery, `concurrency` (default 1) at a time, until the consumer is
   * closed: resolving acks the message, throwing nacks it with the error.
   */
  run(handler: RunHandler<V>, options: RunOptions & { readonly exactlyOnce?: false } = {}): Promise<void> {
    if ((options as RunOptions | null)?.exactlyOnce === true) {
      return Promise.reject(new UnsupportedFeatureError('nats', 'run(handler, { exactlyOnce: true })', 'NATS has no transactions: use the embedded engine, or publish with message ids and ack after (at-least-once, deduplicated)'));
    }
    return runHandlers<V>(this.#runSource(), handler, options);
  }

  /** Batches of what is ready, acked or nacked together, as the embedded consumer's runBatches(). */
  runBatches(handler: BatchHandler<V>, options: RunBatchesOptions = {}): Promise<void> {
    return runBatchHandlers<V>(this.#runSource(), handler, options);
  }

  /** Acks many deliveries with one promise, as the embedded consumer's ackMany(). */
  ackMany(deliveries: readonly Delivery<V>[]): Promise<void> {
    return ackMany(deliveries, this.#isOurs);
  }

  /**
   * Extends many leases with one promise, as the embedded consumer's extendMany(): one +WPI per
   * delivery (JetStream has no batch of them). `ms` beyond a delivery's topic's ackTimeoutMs is
   * refused with UNSUPPORTED before any is sent, as extend() refuses it.
   */
  extendMany(deliveries: readonly Delivery<V>[], ms?: number): Promise<void> {
    return extendMany(deliveries, ms, this.#isOurs, (d, wanted) => (d as JetStreamDelivery<V>).extendLimitError(wanted));
  }

  /** Handed out by this consumer (ackMany and extendMany refuse any other). */
  readonly #isOurs = (d: Delivery): boolean => d instanceof JetStreamDelivery && d.belongsTo(this.#owner);

  #runSource(): RunSource<V> {
    return {
      consumer: this,
      next: () => this.next(),
      takeNow: () => this.takeNow(),
      stop: () => void this.close(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now,
      fault: (error, d, during) => this.#settleFaults.tell(error, d, during),
    };
  }

  #stop(): void {
    this.#stopped = true;
    for (const wake of this.#takers.splice(0)) wake();
    for (const wake of this.#slotWaiters.splice(0)) wake();
  }

  /** Hands back (NAK) what no handler took. */
  #handBackBuffered(): void {
    for (let a = this.#buffer.shift(); a; a = this.#buffer.shift()) {
      a.msg.nak();
      this.#release(1);
    }
  }

  /**
   * Stops this consumer as a crash would: no more pulls, and its leases are not handed back: they
   * expire and are redelivered. For fault drills; a consumer that is done should `close()`.
   */
  abandon(): void {
    this.#abandoned = true;
    this.#stop();
    this.#closed = true;
    while (this.#buffer.shift());
    clearInterval(this.#sweep);
    this.#unwatch?.();
    this.#host.onClose();
  }

  /**
   * Closes the consumer gracefully: stops pulling, hands back (NAK) what no handler took, lets
   * handlers holding deliveries settle them within `timeoutMs` (default: the longest ackTimeoutMs
   * of its topics), then hands the rest back. On NATS a hand-back counts as a delivery attempt.
   * Idempotent.
   */
  /**
   * Settles once this consumer's pulls ended (each within pollWaitMs of a close) and what they
   * brought was handed back: the connection must stay open until then.
   */
  pullsEnded(): Promise<void> {
    const { settings } = this.#host.link;
    this.#handedBack ??= (async () => {
      await this.#started;
      // A pull ends by itself within pollWaitMs, but not always while the servers are gone: bounded.
      await withDeadline(this.#pumps, this.#pollWaitMs + settings.requestTimeoutMs, () => new Error('pulls did not end')).catch(() => {});
      this.#handBackBuffered();
      await this.#flush();
    })();
    return this.#handedBack;
  }

  async #flush(): Promise<void> {
    const { link } = this.#host;
    // A flush waits for the server's answer, for ever while it is gone: bounded, the hand-backs are best effort.
    if (!link.nc.isClosed()) await withDeadline(link.nc.flush(), link.settings.requestTimeoutMs, () => new Error('flush timed out')).catch(() => {});
  }

  close(options: CloseOptions = {}): Promise<void> {
    try {
      checkCloseOptions(options); // refused as a rejection, before anything closes
    } catch (error) {
      return Promise.reject(error);
    }
    const timeoutMs = options.timeoutMs ?? Math.max(...this.#topicNames.map((t) => this.#host.topics.cached(t)?.ackTimeoutMs ?? 30_000));
    this.#closing ??= (async () => {
      this.#stop();
      // What no handler took goes back (NAK) once the pulls in flight ended, not now: a NAKed
      // message would come straight back to this consumer's own open pull.
      void this.pullsEnded();
      if (this.#held.size > 0 && timeoutMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          this.#drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.#closed = true;
      clearInterval(this.#sweep);
      this.#unwatch?.();
      for (const d of [...this.#held]) {
        // One whose ack or nack is on its way is left to it: a -NAK now would go out before it.
        if (!d.settled) d.msg.nak();
        this.#leave(d);
      }
      await this.#flush();
    })().finally(() => this.#host.onClose());
    return this.#closing;
  }
}
