// The consumer client: one member of a consumer group. A pump per partition long-polls leased
// messages into a bounded buffer; the caller takes them by async iteration or `run()` and settles
// each with ack / nack / extend. Runs on the caller's thread.
//
//   pump[p] ──fetch(max = maxInFlight - inFlight)──► buffer ──► for await / run() ──► ack | nack
//      ▲                                                                               │
//      └────────────────────── capacity freed when a delivery settles ◄────────────────┘
import { BoundedFifo, FerryError, InvalidArgumentError, type Clock, type Random } from '../wal/index.ts';
import { decodeBody, decodeMeta } from './codec.ts';
import { readDeadLetterInfo, type DeadLetterInfo } from './dead-letter.ts';
import { ClosedError, StaleDeliveryError, leaseIsGone } from './errors.ts';
import { checkName } from './names.ts';
import { MAX_ERROR_CHARS, type DeliveredMessage } from './partition-actor.ts';
import type { Ordering } from './records.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** Options of `ferry.consumer()`. */
export interface ConsumerOptions {
  readonly topics: readonly string[];
  /** Deliveries held (buffered or unsettled) at once. Default 64. */
  readonly maxInFlight?: number;
  /** 'key': one message per key in flight; 'partition': one per partition; default 'none'. */
  readonly ordering?: Ordering;
  /** Long-poll wait of each fetch. Default 1000 ms. */
  readonly pollWaitMs?: number;
}

/** Options of `nack`. */
export interface NackOptions {
  /** Redeliver after this delay instead of the topic's backoff. */
  readonly delayMs?: number;
  /** Why it failed; kept with the message and in its dead letter. */
  readonly error?: string;
}

/** One leased message. Settle it with exactly one of ack() or nack(); extend() while working. */
export interface Delivery<V = unknown> {
  readonly value: V;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** 1 on the first delivery. */
  readonly attempt: number;
  readonly publishedAt: number;
  /** Set on messages of a dead-letter topic: where they came from and why they died. */
  readonly deadLetter: DeadLetterInfo | undefined;
  ack(): Promise<void>;
  nack(options?: NackOptions): Promise<void>;
  extend(ms?: number): Promise<void>;
}

/** What the consumer needs from the engine. */
export interface ConsumerHost {
  readonly runtime: PartitionRuntime;
  readonly clock: Clock;
  readonly random: Random;
  topic(name: string): ResolvedTopicOptions;
  /** Called once the consumer has closed, so the engine stops tracking it. */
  onClose?(): void;
}

interface Buffered {
  readonly topic: string;
  readonly partition: number;
  readonly message: DeliveredMessage;
}

/**
 * A member of a consumer group. Iterate it (`for await`) or `run()` a handler; settle every
 * delivery with `ack()` or `nack()`. Get one from `ferry.consumer()`; `close()` hands its leases back.
 */
export class Consumer<V = unknown> implements AsyncIterable<Delivery<V>> {
  readonly group: string;
  readonly #host: ConsumerHost;
  readonly #topics: readonly string[];
  readonly #maxInFlight: number;
  readonly #ordering: Ordering;
  readonly #pollWaitMs: number;
  readonly #id: string;
  /** Fetched, not yet handed out; a ring buffer (no Array#shift on the hot path). */
  #buffer: BoundedFifo<Buffered>;
  #inFlight = 0;
  #takers: ((b: Buffered | undefined) => void)[] = [];
  #capacityWaiters: (() => void)[] = [];
  #started: Promise<void> | undefined;
  #pumps: Promise<void>[] = [];
  #partitionCount = 1;
  #failure: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(host: ConsumerHost, group: string, options: ConsumerOptions) {
    this.group = checkName('group', group);
    this.#host = host;
    if (!options || !Array.isArray(options.topics) || options.topics.length === 0) throw new InvalidArgumentError('consumer options.topics must list at least one topic');
    for (const t of options.topics) host.topic(t); // UNKNOWN_TOPIC now, not later
    this.#topics = [...new Set(options.topics)];
    this.#maxInFlight = options.maxInFlight ?? 64;
    if (!Number.isSafeInteger(this.#maxInFlight) || this.#maxInFlight < 1) throw new InvalidArgumentError('consumer options.maxInFlight must be a positive integer');
    this.#ordering = options.ordering ?? 'none';
    if (!['none', 'key', 'partition'].includes(this.#ordering)) throw new InvalidArgumentError("consumer options.ordering must be 'none', 'key' or 'partition'");
    this.#pollWaitMs = options.pollWaitMs ?? 1000;
    this.#buffer = new BoundedFifo(this.#maxInFlight);
    this.#id = `${group}/${host.random.int(2 ** 31).toString(36)}${host.random.int(2 ** 31).toString(36)}`;
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      const partitions: [string, number][] = [];
      for (const topic of this.#topics) for (let p = 0; p < this.#host.topic(topic).partitions; p++) partitions.push([topic, p]);
      await Promise.all(partitions.map(([t, p]) => this.#joinGroup(t, p)));
      this.#partitionCount = partitions.length;
      this.#pumps = partitions.map(([t, p]) => this.#pump(t, p));
    })();
    return this.#started;
  }

  /** Waits after `failures` failed tries; close() wakes it (a sleeping pump must not hold close up). */
  #backOff(failures: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#host.clock.setTimer(Math.min(5000, 50 * 2 ** failures), resolve);
      this.#capacityWaiters.push(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  /** Registers the group on a partition, retrying retriable failures (a shard restarting, say). */
  async #joinGroup(topic: string, partition: number): Promise<void> {
    for (let failures = 1; ; failures++) {
      try {
        return await this.#host.runtime.ensureGroup(topic, partition, this.group, this.#ordering);
      } catch (error) {
        if (this.#closed || !(error instanceof FerryError && error.retriable) || failures > 20) throw error;
        await this.#backOff(failures);
      }
    }
  }

  async #pump(topic: string, partition: number): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      const free = this.#maxInFlight - this.#inFlight;
      if (free <= 0) {
        await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
        continue;
      }
      // A fair share, reserved before the fetch: pumps of other partitions fetching meanwhile see
      // it taken, and one partition long-polling an empty log cannot starve the others.
      const room = Math.max(1, Math.ceil(free / this.#partitionCount));
      this.#inFlight += room;
      let messages: DeliveredMessage[] = [];
      try {
        messages = await this.#host.runtime.fetch(topic, partition, { group: this.group, consumerId: this.#id, max: room, waitMs: this.#pollWaitMs });
        failures = 0;
      } catch (error) {
        this.#inFlight -= room;
        if (this.#closed) break;
        if (!(error instanceof FerryError && error.retriable) || ++failures > 20) {
          this.#fail(error);
          break;
        }
        await this.#backOff(failures);
        continue;
      }
      if (messages.length < room) {
        this.#inFlight -= room - messages.length; // give back what the fetch did not fill
        for (const wake of this.#capacityWaiters.splice(0)) wake();
      }
      if (this.#closed) break; // close() releases whatever this fetch leased
      for (const message of messages) this.#offer({ topic, partition, message });
    }
  }

  #offer(b: Buffered): void {
    const taker = this.#takers.shift();
    if (taker) taker(b);
    else this.#buffer.push(b); // never full: fetches ask for at most the room left
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    for (const taker of this.#takers.splice(0)) taker(undefined);
  }

  #settled(): void {
    this.#inFlight--;
    // Pumps wake once a quarter of the window is free (or someone waits with nothing buffered),
    // so fetches stay large instead of one message per ack.
    const free = this.#maxInFlight - this.#inFlight;
    if (free >= Math.max(1, this.#maxInFlight >> 2) || (this.#takers.length > 0 && this.#buffer.size === 0)) {
      for (const wake of this.#capacityWaiters.splice(0)) wake();
    }
  }

  /** The next delivery, or undefined once the consumer is closed. */
  async next(): Promise<Delivery<V> | undefined> {
    if (this.#closed) return undefined;
    await this.#start();
    if (this.#failure) throw this.#failure;
    const ready = this.#buffer.shift();
    if (ready) return this.#delivery(ready);
    const b = await new Promise<Buffered | undefined>((resolve) => this.#takers.push(resolve));
    if (!b) {
      if (this.#failure && !this.#closed) throw this.#failure;
      return undefined;
    }
    return this.#delivery(b);
  }

  #delivery(b: Buffered): Delivery<V> {
    return new LeasedDelivery<V>(b.topic, b.partition, b.message, this.#settler);
  }

  /** What a delivery needs from its consumer to settle itself (one object shared by all of them). */
  readonly #settler: Settler = {
    group: () => this.group,
    runtime: () => this.#host.runtime,
    closed: () => this.#closed,
    settled: () => this.#settled(),
  };

  [Symbol.asyncIterator](): AsyncIterator<Delivery<V>> {
    return {
      next: async () => {
        const d = await this.next();
        return d ? { value: d, done: false } : { value: undefined, done: true };
      },
      return: async () => ({ value: undefined, done: true }),
    };
  }

  /**
   * Runs `handler` on each delivery, `concurrency` at a time, until the consumer is closed:
   * resolving acks the message, throwing nacks it with the error's message.
   */
  async run(handler: (delivery: Delivery<V>) => Promise<void> | void, options: { concurrency?: number } = {}): Promise<void> {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError('run concurrency must be a positive integer');
    const worker = async (): Promise<void> => {
      for (let d = await this.next(); d; d = await this.next()) {
        let outcome: 'ack' | { error: string };
        try {
          await handler(d);
          outcome = 'ack';
        } catch (error) {
          // Bounded: the error travels with the message and into its dead letter.
          outcome = { error: (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_CHARS) };
        }
        try {
          if (outcome === 'ack') await d.ack();
          else await d.nack(outcome);
        } catch (error) {
          // A lost lease or a closed consumer: the message comes back to some consumer. Anything else is fatal.
          if (!leaseIsGone(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  /**
   * Stops this consumer as a crash would: no more fetches, and its leases are *not* handed back:
   * they expire and are redelivered (charging an attempt). For fault drills and the simulator;
   * a consumer that is done should `close()`.
   */
  abandon(): void {
    this.#closed = true;
    for (const taker of this.#takers.splice(0)) taker(undefined);
    for (const wake of this.#capacityWaiters.splice(0)) wake();
    this.#buffer = new BoundedFifo(1);
    // A dead process's pending fetches go with its connection; its leases stay until they expire.
    for (const topic of this.#topics) for (let p = 0; p < this.#host.topic(topic).partitions; p++) void this.#host.runtime.release(topic, p, this.#id, false).catch(() => {});
  }

  /** Stops fetching, releases every lease (without charging an attempt), ends iteration. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const taker of this.#takers.splice(0)) taker(undefined);
      for (const wake of this.#capacityWaiters.splice(0)) wake();
      this.#buffer = new BoundedFifo(1);
      if (!this.#started) return;
      await this.#started.catch(() => {});
      const partitions: [string, number][] = [];
      for (const topic of this.#topics) for (let p = 0; p < this.#host.topic(topic).partitions; p++) partitions.push([topic, p]);
      const releaseAll = () => Promise.allSettled(partitions.map(([t, p]) => this.#host.runtime.release(t, p, this.#id)));
      await releaseAll(); // also wakes pumps parked in a long-poll
      await Promise.allSettled(this.#pumps);
      await releaseAll(); // what a fetch leased while the first release ran
    })().finally(() => this.#host.onClose?.());
    return this.#closing;
  }
}

interface Settler {
  group(): string;
  runtime(): PartitionRuntime;
  closed(): boolean;
  /** The delivery left the consumer's window (settled, or its lease is gone). */
  settled(): void;
}

/** A delivery as handed out: decoded once, settled through prototype methods (no closures per message). */
class LeasedDelivery<V> implements Delivery<V> {
  readonly value: V;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
  readonly publishedAt: number;
  readonly deadLetter: DeadLetterInfo | undefined;
  readonly #token: string;
  readonly #consumer: Settler;
  #settled = false;

  constructor(topic: string, partition: number, message: DeliveredMessage, consumer: Settler) {
    const meta = decodeMeta(message.record);
    const body = decodeBody(message.record);
    this.value = body.value as V;
    this.key = meta.key;
    this.headers = body.headers;
    this.id = meta.id;
    this.topic = topic;
    this.partition = partition;
    this.offset = message.offset;
    this.attempt = message.attempt;
    this.publishedAt = message.publishedAt;
    this.deadLetter = readDeadLetterInfo(body.headers);
    this.#token = message.token;
    this.#consumer = consumer;
  }

  ack(): Promise<void> {
    const refused = this.#refuse('ack');
    if (refused) return refused;
    return this.#settling(this.#consumer.runtime().ack(this.topic, this.partition, this.#consumer.group(), this.offset, this.#token));
  }

  nack(options: NackOptions = {}): Promise<void> {
    const refused = this.#refuse('nack');
    if (refused) return refused;
    return this.#settling(this.#consumer.runtime().nack(this.topic, this.partition, this.#consumer.group(), this.offset, this.#token, options));
  }

  async extend(ms?: number): Promise<void> {
    if (ms !== undefined && (!Number.isFinite(ms) || ms <= 0)) throw new InvalidArgumentError(`extend ms must be a positive number (got ${ms})`);
    if (this.#settled) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, extend ignored');
    if (this.#consumer.closed()) throw new ClosedError(`consumer of group ${this.#consumer.group()}`);
    await this.#consumer.runtime().extend(this.topic, this.partition, this.#consumer.group(), this.offset, this.#token, ms);
  }

  /** A rejected promise if this delivery cannot be settled now; otherwise marks it settled. */
  #refuse(what: 'ack' | 'nack'): Promise<void> | undefined {
    if (this.#settled) return Promise.reject(new StaleDeliveryError(this.topic, this.partition, this.offset, `already settled, ${what} ignored`));
    if (this.#consumer.closed()) return Promise.reject(new ClosedError(`consumer of group ${this.#consumer.group()}`));
    this.#settled = true;
    return undefined;
  }

  /** Follows the runtime's answer (no async function per settle: this runs once per message). */
  #settling(answer: Promise<void>): Promise<void> {
    return answer.then(
      () => this.#consumer.settled(),
      (error: unknown) => {
        // A lost lease is gone for good; anything else (disk full, a bad argument) can be retried.
        if (leaseIsGone(error)) this.#consumer.settled();
        else this.#settled = false;
        throw error;
      },
    );
  }
}
