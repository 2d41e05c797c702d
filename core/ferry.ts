// The engine's public face: a thin facade over the parts of an open engine, each in its own file:
//
//   engine-open.ts          opening: lock, catalog, runtime (topics recovered), transaction decisions
//   engine-clients.ts       producers (named ones fence their elders) and consumers
//   engine-admin.ts         topics and groups: create, delete, reset, redrive
//   engine-observer.ts      metrics, alert events, read, inspect, describe
//   engine-transactions.ts  transaction() and beginTransaction()
//
//   <dir>/_catalog/            topics and producer epochs (a log of its own)
//   <dir>/topics/<topic>/<p>/  one log per partition: messages and every group's state changes
import { closeEngine, openEngine, type OpenedEngine } from './engine-open.ts';
import { EngineAdmin } from './engine-admin.ts';
import { EngineClients } from './engine-clients.ts';
import { EngineObserver } from './engine-observer.ts';
import { beginHalfTransaction, runTransaction } from './engine-transactions.ts';
import type { MessageHistory, ReadOptions, ResetGroupOptions, ResetResult, StoredMessageView } from './admin.ts';
import type { Consumer, ConsumerOptions } from './consumer.ts';
import type { Description, GroupDescription, TopicDescription } from './describe.ts';
import type { FerryEventMap, FerryEventName } from './engine-events.ts';
import { ClosedError } from './errors.ts';
import type { FerryOptions, RuntimeFactory } from './ferry-options.ts';
import type { FerryMetrics, MetricsSource } from './metrics.ts';
import { checkCloseOptions } from './close-options.ts';
import type { Producer, ProducerOptions } from './producer.ts';
import type { RedriveOptions } from './redrive.ts';
import type { TopicChanges } from './topic-changes.ts';
import type { ResolvedTopicOptions, TopicOptions } from './topic-options.ts';
import type { Transaction } from './transaction.ts';

export type { FerryOptions, RuntimeFactory } from './ferry-options.ts';
export type { RedriveOptions } from './redrive.ts';

/**
 * An open engine on one data directory: create topics, hand out producers and consumers, redrive
 * dead letters. Open it with `Ferry.open`, close it with `close()` (syncs and releases the lock).
 */
export class Ferry {
  readonly #engine: OpenedEngine;
  readonly #clients: EngineClients;
  readonly #admin: EngineAdmin;
  readonly #observer: EngineObserver;
  #closing: Promise<void> | undefined;

  /** Use `Ferry.open`. */
  protected constructor(engine: OpenedEngine) {
    this.#engine = engine;
    this.#observer = new EngineObserver(engine, () => this.metricsSource(), () => this.#clients.members());
    engine.checkBack.failed = (event) => this.#observer.events.emit('checkBackFailed', event);
    this.#clients = new EngineClients(engine, this.#observer.events, () => this.#checkOpen());
    this.#admin = new EngineAdmin(engine, this.#clients);
  }

  /**
   * Opens the engine on a data directory, recovering every topic in it. `runtimeFactory` builds the
   * runtime for `threads > 0` (the package root passes the worker-thread one; core never imports it).
   */
  static async open(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<Ferry> {
    return new Ferry(await openEngine(options, runtimeFactory));
  }

  #checkOpen(): void {
    if (this.#closing) throw new ClosedError('this Ferry instance');
  }

  /**
   * Creates a topic (and its dead-letter topic, which keeps every letter: see
   * DEAD_LETTER_TOPIC_OPTIONS), or ensures it exists: without options, an existing topic is taken
   * as it is; with options, the same options are a no-op and different ones a typed
   * TOPIC_CONFLICT error. Unknown option names are refused.
   */
  async createTopic(name: string, options?: TopicOptions): Promise<void> {
    this.#checkOpen();
    return this.#admin.createTopic(name, options);
  }

  /**
   * Changes options of an existing topic: `maxDeliveries`, `backoff`, `ackTimeoutMs`,
   * `dedupWindowMs` and `retention` (its given bounds; the other is kept). Durable in the catalog
   * first (a restart keeps them), then every partition uses them from its next step on: new leases
   * run the new ackTimeoutMs, the next failed attempt counts against the new maxDeliveries and backs
   * off by the new backoff, the next retention check applies the new bounds, ids published from now
   * on are kept for the new window. `partitions` and `deadLetter` cannot change (TOPIC_OPTION_FIXED,
   * saying why and what to do instead). Resolves with the topic's options now.
   */
  async alterTopic(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions> {
    this.#checkOpen();
    return this.#admin.alterTopic(name, changes);
  }

  /**
   * Deletes a topic: its messages, its groups' state and its files. Durable first (the catalog
   * forgets it), then its partitions close and its files go; a crash in between leaves files that
   * nothing opens, removed when a topic of that name is created again. Its dead-letter topic stays
   * (the letters are kept: read them, redrive them `to` another topic, or delete it too).
   * Refused with TOPIC_IN_USE while a consumer of this engine reads it or while another topic
   * dead-letters into it; UNKNOWN_TOPIC when there is no such topic (nothing was deleted, as
   * deleteGroup's UNKNOWN_GROUP). Resolves true once the topic is deleted.
   */
  async deleteTopic(name: string): Promise<true> {
    this.#checkOpen();
    return this.#admin.deleteTopic(name);
  }

  /**
   * Deletes consumer group `group` from `topics` (default: every topic), so it no longer holds
   * back retention: its acks, pending retries and leases are gone, and a consumer that joins it
   * later starts again from the beginning of the log. Refused (GROUP_IN_USE) while a consumer of
   * the group is open in this engine; UNKNOWN_GROUP when the group is on none of the topics
   * (nothing was deleted). Resolves with the topics it was deleted from.
   */
  async deleteGroup(group: string, options: { readonly topics?: readonly string[] } = {}): Promise<string[]> {
    this.#checkOpen();
    return this.#admin.deleteGroup(group, options);
  }

  /** Names of the topics, with their options. */
  topics(): { name: string; options: ResolvedTopicOptions }[] {
    return this.#engine.catalog.topics().map(([name, options]) => ({ name, options }));
  }

  /**
   * A producer. With an `id`, opening another producer with the same id fences the older one at
   * once: its publishes fail with PRODUCER_FENCED from this call on, and the new one publishes
   * only once nothing of the older one is in flight and its own epoch is durable.
   */
  producer(options: ProducerOptions = {}): Producer {
    this.#checkOpen();
    return this.#clients.producer(options);
  }

  /** A member of consumer group `group`, reading `options.topics`. */
  consumer<V = unknown>(group: string, options: ConsumerOptions): Consumer<V> {
    this.#checkOpen();
    return this.#clients.consumer<V>(group, options);
  }

  /**
   * Moves dead letters back, each once: by default to its partition of origin and only for the
   * group that dead-lettered it, keeping value, key, headers and id; with `to`, to another topic
   * for all its groups. A letter is acked only once its copy is durable, and a redrive repeated
   * after a crash (within the target's dedupe window) stores it once. Resolves with the number
   * moved. NOT_A_DEAD_LETTER_TOPIC for a topic no topic dead-letters into.
   */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
    this.#checkOpen();
    return this.#admin.redrive(deadLetterTopic, options);
  }

  /** What the metrics collector reads: the runtime, the topics, the time. */
  protected metricsSource(): MetricsSource {
    const { runtime, catalog, clock } = this.#engine;
    return { runtime, topics: catalog.topics(), now: clock.now(), redriven: this.#admin.redriven };
  }

  /**
   * A snapshot of the engine's figures: per topic and partition (published, duplicates, log bytes
   * and segments), per group (delivered, acked, nacked, redelivered by cause, dead-lettered, in
   * flight, delayed, lag in messages and as the age of the oldest unsettled message) and for the
   * engine (confirm, deliver, handler and fsync latency histograms, worker restarts, partitions
   * whose retention is blocked). One request per partition, sent together; a partition that does
   * not answer is listed in `unavailable` instead of failing the snapshot.
   */
  async metrics(): Promise<FerryMetrics> {
    this.#checkOpen();
    return this.#observer.metrics();
  }

  /**
   * Reads stored messages of a topic without a consumer group (nothing is leased, acked or
   * charged): a dead-letter topic's letters too, with their origin in `deadLetter`. From one
   * partition and an offset, or from every partition (merged by publish time) and a time.
   */
  read<V = unknown>(topic: string, options: ReadOptions = {}): Promise<StoredMessageView<V>[]> {
    this.#checkOpen();
    return this.#observer.read<V>(topic, options);
  }

  /**
   * One message's life, from the records of its partition's log: when it was published (key, id,
   * producer), each failed attempt per group with its error and retry time, the dead-letter move,
   * the ack, group resets; and what each group's state says of it now. Leases live in memory and
   * are not logged: a delivery shows as the attempt that failed, or as the ack.
   */
  inspect(topic: string, partition: number, offset: number): Promise<MessageHistory> {
    this.#checkOpen();
    return this.#observer.inspect(topic, partition, offset);
  }

  /**
   * Moves group `group` on `topic` to `to` on every partition, durably (one record per
   * partition: a crash leaves the old position or the new one): replay from 'earliest', a
   * `{ time }` or `{ offset }`, or skip to 'latest'. Its pending messages and retries are dropped;
   * from the new position on every message is delivered again, acked before or not. Refused
   * (GROUP_IN_USE) while a consumer of the group is open; UNKNOWN_GROUP if it never joined the topic.
   */
  async resetGroup(group: string, topic: string, options: ResetGroupOptions): Promise<ResetResult[]> {
    this.#checkOpen();
    return this.#admin.resetGroup(group, topic, options);
  }

  /** Every topic (options, partitions, offsets, disk use, groups) and group (members here, in flight and lag per partition). */
  async describe(): Promise<Description> {
    this.#checkOpen();
    return this.#observer.describe();
  }

  /** One topic, as `describe()` gives it; UNKNOWN_TOPIC if there is none. */
  async describeTopic(name: string): Promise<TopicDescription> {
    this.#checkOpen();
    return this.#observer.describeTopic(name);
  }

  /** One group, as `describe()` gives it; UNKNOWN_GROUP if no topic has it and no consumer of it is open. */
  async describeGroup(name: string): Promise<GroupDescription> {
    this.#checkOpen();
    return this.#observer.describeGroup(name);
  }

  /**
   * Listens to an alert event (names and payloads: `FerryEventMap`); returns the function that
   * stops listening. While any listener is registered the engine collects its partitions' events
   * every `alerts.pollMs` (default 1 s): events arrive that late at most. Events raised before the
   * first listener are not delivered, except recovery's cuts (`tornTailCut`). A listener that
   * throws is ignored. At most 100 listeners per event (OVERLOADED past it).
   */
  on<K extends FerryEventName>(name: K, listener: (event: FerryEventMap[K]) => void): () => void {
    this.#checkOpen();
    return this.#observer.events.on(name, listener);
  }

  /** Collects and delivers pending events now, without waiting for the next poll. */
  pollEvents(): Promise<void> {
    this.#checkOpen();
    return this.#observer.events.poll();
  }

  /**
   * The same snapshot in the Prometheus text exposition format (serve it with
   * `Content-Type: text/plain; version=0.0.4`), OpenTelemetry messaging names translated the
   * standard way: `messaging_client_sent_messages_total{messaging_destination_name="orders",...}`.
   */
  async metricsText(): Promise<string> {
    this.#checkOpen();
    return this.#observer.metricsText();
  }

  /**
   * Runs `fn` in a transaction and commits it when `fn` resolves: every `tx.publish` (any topics
   * and partitions, on any thread) and `tx.ack` (any deliveries, of any groups) takes effect, or,
   * if `fn` throws or the commit fails (a typed error: STALE_DELIVERY for an ack whose lease ran
   * out, TRANSACTION_TOO_LARGE, ...), none does. Resolves with what `fn` returned.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    return runTransaction(this.#engine.transactions, fn);
  }

  /**
   * Begins a half transaction (RocketMQ's transactional message): what it publishes is prepared
   * durably at once but invisible until `tx.commit()`; `tx.abort()` drops it. Await each publish
   * before your own local commit. After a crash, the engine asks `resolveInDoubt(id, info)` (an
   * option of Ferry.open) whether it committed. A newer begin with the same id fences this one
   * (TRANSACTION_FENCED); one left undecided for `transactionTimeoutMs` is aborted.
   */
  beginTransaction(options: { readonly id: string }): Promise<Transaction> {
    if (this.#closing) return Promise.reject(new ClosedError('this Ferry instance'));
    return beginHalfTransaction(this.#engine.transactions, options);
  }

  /**
   * Closes gracefully: consumers stop fetching and hand back what no handler took, handlers holding
   * deliveries get up to `timeoutMs` to settle them (default: each consumer's longest
   * `ackTimeoutMs`), producers flush, then every log is synced and closed and the lock released.
   * Idempotent.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    // Checked before anything closes: a refused close leaves the engine open (and its lock held)
    // for a corrected call, instead of a memoized rejection that no later close() gets past.
    try {
      checkCloseOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= (async () => {
      this.#observer.events.close();
      await this.#clients.close(options.timeoutMs);
      await closeEngine(this.#engine);
    })();
    return this.#closing;
  }
}
