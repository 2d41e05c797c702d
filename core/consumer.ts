// The consumer client: one member of a consumer group. A pump per partition long-polls leased
// messages into a bounded buffer; the caller takes them by async iteration or `run()` and settles
// each with ack / nack / extend. Runs on the caller's thread.
//
//   pump[p] ──fetch(max = maxInFlight - inFlight)──► buffer ──► for await / run() ──► ack | nack
//      ▲                                                                               │
//      └────────────────────── capacity freed when a delivery settles ◄────────────────┘
import { FerryError, InvalidArgumentError, type Clock, type Random } from '../wal/index.ts';
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
  #buffer: Buffered[] = [];
  #inFlight = 0;
  #takers: ((b: Buffered | undefined) => void)[] = [];
  #capacityWaiters: (() => void)[] = [];
  #started: Promise<void> | undefined;
  #pumps: Promise<void>[] = [];
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
    this.#id = `${group}/${host.random.int(2 ** 31).toString(36)}${host.random.int(2 ** 31).toString(36)}`;
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      const partitions: [string, number][] = [];
      for (const topic of this.#topics) for (let p = 0; p < this.#host.topic(topic).partitions; p++) partitions.push([topic, p]);
      await Promise.all(partitions.map(([t, p]) => this.#host.runtime.ensureGroup(t, p, this.group, this.#ordering)));
      this.#pumps = partitions.map(([t, p]) => this.#pump(t, p));
    })();
    return this.#started;
  }

  async #pump(topic: string, partition: number): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      const room = this.#maxInFlight - this.#inFlight;
      if (room <= 0) {
        await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
        continue;
      }
      try {
        const messages = await this.#host.runtime.fetch(topic, partition, { group: this.group, consumerId: this.#id, max: room, waitMs: this.#pollWaitMs });
        failures = 0;
        if (this.#closed) break; // close() releases whatever this fetch leased
        for (const message of messages) this.#offer({ topic, partition, message });
      } catch (error) {
        if (this.#closed) break;
        if (!(error instanceof FerryError && error.retriable) || ++failures > 20) {
          this.#fail(error);
          break;
        }
        // Backing off; close() wakes it (a sleeping pump must not hold close up).
        await new Promise<void>((resolve) => {
          const timer = this.#host.clock.setTimer(Math.min(5000, 50 * 2 ** failures), resolve);
          this.#capacityWaiters.push(() => {
            timer.cancel();
            resolve();
          });
        });
      }
    }
  }

  #offer(b: Buffered): void {
    this.#inFlight++;
    const taker = this.#takers.shift();
    if (taker) taker(b);
    else this.#buffer.push(b);
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    for (const taker of this.#takers.splice(0)) taker(undefined);
  }

  #settled(): void {
    this.#inFlight--;
    for (const wake of this.#capacityWaiters.splice(0)) wake();
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
    const { topic, partition, message } = b;
    const meta = decodeMeta(message.record);
    const body = decodeBody(message.record);
    const runtime = this.#host.runtime;
    let settled = false;
    const settle = async (what: 'ack' | 'nack', run: () => Promise<void>): Promise<void> => {
      if (settled) throw new StaleDeliveryError(topic, partition, message.offset, `already settled, ${what} ignored`);
      if (this.#closed) throw new ClosedError(`consumer of group ${this.group}`);
      settled = true;
      try {
        await run();
      } catch (error) {
        // A lost lease is gone for good; anything else (disk full, a bad argument) can be retried.
        if (leaseIsGone(error)) this.#settled();
        else settled = false;
        throw error;
      }
      this.#settled();
    };
    return {
      value: body.value as V,
      key: meta.key,
      headers: body.headers,
      id: meta.id,
      topic,
      partition,
      offset: message.offset,
      attempt: message.attempt,
      publishedAt: message.publishedAt,
      deadLetter: readDeadLetterInfo(body.headers),
      ack: () => settle('ack', () => runtime.ack(topic, partition, this.group, message.offset, message.token)),
      nack: (options: NackOptions = {}) => settle('nack', () => runtime.nack(topic, partition, this.group, message.offset, message.token, options)),
      extend: async (ms?: number) => {
        if (ms !== undefined && (!Number.isFinite(ms) || ms <= 0)) throw new InvalidArgumentError(`extend ms must be a positive number (got ${ms})`);
        if (settled) throw new StaleDeliveryError(topic, partition, message.offset, 'already settled, extend ignored');
        if (this.#closed) throw new ClosedError(`consumer of group ${this.group}`);
        await runtime.extend(topic, partition, this.group, message.offset, message.token, ms);
      },
    };
  }

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

  /** Stops fetching, releases every lease (without charging an attempt), ends iteration. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const taker of this.#takers.splice(0)) taker(undefined);
      for (const wake of this.#capacityWaiters.splice(0)) wake();
      this.#buffer = [];
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
