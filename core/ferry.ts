// The engine's public face: opens a data directory, keeps the topic catalog, and hands out
// producers and consumers wired to a partition runtime (in-thread, or on worker threads).
//
//   <dir>/_catalog/            topics and producer epochs (a log of its own)
//   <dir>/topics/<topic>/<p>/  one log per partition: messages and every group's state changes
import { join } from 'node:path';
import {
  InvalidArgumentError,
  LockedError,
  SeededRandom,
  errorCode,
  WriteAheadLog,
  nodeFileSystem,
  realClock,
  showValue,
  type Clock,
  type FileSystem,
  type FsyncPolicy,
  type LockHandle,
  type Random,
} from '../wal/index.ts';
import { CATALOG_LOG_OPTIONS, Catalog } from './catalog.ts';
import { ClosedError, DeadLetterTopicConflictError, GroupInUseError, ProducerFencedError, TopicInUseError, UnknownGroupError, UnknownTopicError, unknownGroupToDelete } from './errors.ts';
import { LocalRuntime } from './local-runtime.ts';
import { resolveEngineOptions } from './engine-options.ts';
import { inspectMessage, readTopic, resetGroupPosition, type AdminHost, type MessageHistory, type ReadOptions, type ResetGroupOptions, type ResetResult, type StoredMessageView } from './admin.ts';
import type { AlertOptions, ResolvedAlertOptions } from './alert-options.ts';
import { describeAll, type Description, type GroupDescription, type TopicDescription } from './describe.ts';
import { EngineEvents, type FerryEventMap, type FerryEventName } from './engine-events.ts';
import { collectMetrics, type FerryMetrics, type MetricsSource } from './metrics.ts';
import { metricsText } from './metrics-text.ts';
import { redrive, type RedriveOptions } from './redrive.ts';
import { DECISION_LOG_OPTIONS, DecisionLog } from './decision-log.ts';
import type { Transaction } from './transaction.ts';
import { TransactionManager, type ResolveInDoubt } from './transactions.ts';

export type { RedriveOptions } from './redrive.ts';
import { checkName, checkTopicNames } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { PartitionLimits } from './partition-actor.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { Producer, type ProducerOptions } from './producer.ts';
import type { PartitionRuntime } from './runtime.ts';
import { DEAD_LETTER_TOPIC_OPTIONS, resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topic-options.ts';

/** Options of `Ferry.open`. */
export interface FerryOptions {
  /** The data directory (created if missing; locked while open). */
  readonly dir: string;
  /**
   * Worker threads hosting partitions: 0 runs them on the calling thread, 'auto' uses one per
   * core but one (left to the caller). Default 0.
   */
  readonly threads?: number | 'auto';
  /** Default 'interval' (group commit). 'none' confirms before data is on disk. */
  readonly fsync?: FsyncPolicy;
  /**
   * With `fsync: 'interval'`: 0 (default) syncs back to back (a sync starts as soon as the last one
   * ended and covers every write made meanwhile); more waits at least this long between syncs, and
   * confirms wait for the next one. 0 to 60000.
   */
  readonly fsyncIntervalMs?: number;
  /** Segment size of every partition log. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest encoded message. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  readonly limits?: Partial<PartitionLimits>;
  /**
   * Opens logs damaged inside data that was synced (a CORRUPT_SEGMENT error otherwise) by cutting
   * each at its first bad batch: everything after it in that log is dropped, and reported. Use it
   * only once you have kept a copy of the directory, or restored what you could from a backup.
   */
  readonly repair?: boolean;
  /** Thresholds and pace of the alert events (`ferry.on`). */
  readonly alerts?: AlertOptions;
  /**
   * An open half transaction (beginTransaction) neither committed nor aborted within this long is
   * aborted; so is an in-doubt one after a restart when there is no `resolveInDoubt`. Default 60000.
   */
  readonly transactionTimeoutMs?: number;
  /**
   * The check-back (issue 13): after a crash, asked for every half transaction that was begun and
   * not decided, with its id; answer 'commit' if your own local transaction committed, else
   * 'abort'. Asked again with backoff while it throws; until it answers, the transaction's
   * messages stay invisible and its acked deliveries reserved.
   */
  readonly resolveInDoubt?: ResolveInDoubt;
  /** Seams: the simulator and tests pass their own. */
  readonly fs?: FileSystem;
  readonly clock?: Clock;
  readonly random?: Random;
}

/** What the engine keeps besides its runtime and catalog: alert settings and its data directory. */
interface EngineExtras {
  readonly alerts: ResolvedAlertOptions;
  readonly fs: FileSystem;
  readonly dir: string;
  readonly transactions: { readonly manager: TransactionManager; readonly log: DecisionLog };
}

/** Builds the runtime for `threads > 0`; supplied by the composition root (index.ts). */
export type RuntimeFactory = (options: { readonly threads: number | 'auto'; readonly local: ConstructorParameters<typeof LocalRuntime>[0] }) => PartitionRuntime;



/**
 * An open engine on one data directory: create topics, hand out producers and consumers, redrive
 * dead letters. Open it with `Ferry.open`, close it with `close()` (syncs and releases the lock).
 */
export class Ferry {
  readonly #lock: LockHandle;
  readonly #runtime: PartitionRuntime;
  readonly #catalog: Catalog;
  readonly #transactions: TransactionManager;
  readonly #decisions: DecisionLog;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #maxMessageBytes: number;
  readonly #producers = new Set<Producer>();
  readonly #consumers = new Set<Consumer>();
  /** The current instance of each named producer (the one a newer instance fences). */
  readonly #named = new Map<string, Producer>();
  /** Per named producer: settles once every instance older than the current one is drained. */
  readonly #draining = new Map<string, Promise<unknown> | undefined>();
  /** Letters moved back out of each dead-letter topic by `redrive` (at most one entry per topic). */
  readonly #redriven = new Map<string, number>();
  readonly #events: EngineEvents;
  /** The data directory, for removing a deleted topic's files. */
  readonly #disk: { readonly fs: FileSystem; readonly dir: string };
  /** The topics each open consumer reads (for describeGroup's members). */
  readonly #memberTopics = new WeakMap<Consumer, readonly string[]>();
  #closing: Promise<void> | undefined;

  /** Use `Ferry.open`. */
  protected constructor(runtime: PartitionRuntime, catalog: Catalog, clock: Clock, random: Random, maxMessageBytes: number, lock: LockHandle, extras: EngineExtras) {
    this.#transactions = extras.transactions.manager;
    this.#decisions = extras.transactions.log;
    this.#lock = lock;
    this.#runtime = runtime;
    this.#catalog = catalog;
    this.#clock = clock;
    this.#random = random;
    this.#maxMessageBytes = maxMessageBytes;
    this.#events = new EngineEvents(() => collectMetrics(this.metricsSource(), true), clock, extras.alerts);
    this.#disk = { fs: extras.fs, dir: extras.dir };
  }

  /**
   * Opens the engine on a data directory, recovering every topic in it. `runtimeFactory` builds the
   * runtime for `threads > 0` (the package root passes the worker-thread one; core never imports it).
   */
  static async open(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<Ferry> {
    const { threads, fsync, fsyncIntervalMs, segmentBytes, maxMessageBytes, limits, repair, alerts, transactionTimeoutMs } = resolveEngineOptions(options as unknown as Record<string, unknown>);
    const fs = options.fs ?? nodeFileSystem;
    const clock = options.clock ?? realClock;
    const random = options.random ?? new SeededRandom((clock.now() ^ (process.pid << 16)) >>> 0);
    // One lock for the whole data directory, held by this thread; the logs under it open unlocked.
    try {
      fs.mkdirp(options.dir);
    } catch (error) {
      // A file in the way, a path without permission: the user's to fix, not the disk's.
      throw new InvalidArgumentError(`options.dir ${JSON.stringify(options.dir)} cannot be a data directory (${errorCode(error) ?? String(error)}): give the path of a directory, or of one to create`, { cause: error });
    }
    let lock: LockHandle;
    try {
      lock = fs.lock(join(options.dir, 'LOCK'));
    } catch (error) {
      throw errorCode(error) === 'ELOCKED' ? new LockedError(options.dir, String((error as { holder?: unknown }).holder ?? 'another process'), { cause: error }) : error;
    }
    // What an open that fails has taken, undone in reverse order: the directory is left as it was
    // found, and a retry in this process is not refused as LOCKED (issue 9).
    const undo: (() => unknown)[] = [() => lock.release()];
    try {
      const catalogLog = await WriteAheadLog.open({ dir: join(options.dir, '_catalog'), fs, clock, fsync: fsync === 'none' ? 'interval' : fsync, ...CATALOG_LOG_OPTIONS, repair });
      undo.unshift(() => catalogLog.close());
      // The catalog is read before any thread starts: a bad one has nothing else to stop.
      const catalog = Catalog.load(catalogLog);
      undo.unshift(() => catalog.close());
      const local = {
        dir: options.dir,
        fs,
        clock,
        random: random.fork('runtime'),
        fsync,
        fsyncIntervalMs,
        segmentBytes,
        repair,
        maxMessageBytes,
        limits,
      };
      const threaded = threads === 'auto' || threads > 0;
      if (threaded && !runtimeFactory) throw new InvalidArgumentError("options.threads > 0 needs the worker runtime: import { Ferry } from 'ferry' (the package root passes it in)");
      const runtime = threaded ? runtimeFactory!({ threads, local }) : new LocalRuntime(local);
      undo.unshift(() => runtime.close());
      for (const [name, topicOptions] of catalog.topics()) await runtime.openTopic(name, topicOptions);
      // Transactions (issue 13): decisions are read, and what a crash left prepared is decided,
      // before the engine serves.
      const decisionLog = await WriteAheadLog.open({ dir: join(options.dir, '_transactions'), fs, clock, fsync: fsync === 'none' ? 'interval' : fsync, ...DECISION_LOG_OPTIONS, repair });
      undo.unshift(() => decisionLog.close());
      const decisions = DecisionLog.load(decisionLog);
      const manager = new TransactionManager({
        runtime,
        decisions,
        clock,
        random: random.fork('transactions'),
        maxMessageBytes,
        limits,
        timeoutMs: transactionTimeoutMs,
        ...(options.resolveInDoubt ? { resolveInDoubt: options.resolveInDoubt } : {}),
        boot: await decisions.boot(clock.now()),
        topic: (name) => {
          const o = catalog.topic(name);
          if (!o) throw new UnknownTopicError(name);
          return o;
        },
        topics: () => catalog.topics(),
      });
      undo.unshift(() => manager.close());
      // Not awaited: a partition that cannot answer now (a restarting worker, a lost request)
      // must not hold the open up, and nothing needs the outcome first: prepared messages stay
      // invisible and their acked deliveries reserved on the partitions until decided.
      manager.recover();
      return new Ferry(runtime, catalog, clock, random, maxMessageBytes, lock, { alerts, fs, dir: options.dir, transactions: { manager, log: decisions } });
    } catch (error) {
      for (const step of undo) await Promise.resolve().then(step).catch(() => {}); // the open's own error is the one to report
      throw error;
    }
  }

  #checkOpen(): void {
    if (this.#closing) throw new ClosedError('this Ferry instance');
  }

  #topic(name: string): ResolvedTopicOptions {
    const options = this.#catalog.topic(name);
    if (!options) throw new UnknownTopicError(name);
    return options;
  }

  /**
   * Creates a topic (and its dead-letter topic, which keeps every letter: see
   * DEAD_LETTER_TOPIC_OPTIONS), or ensures it exists: without options, an existing topic is taken
   * as it is; with options, the same options are a no-op and different ones a typed
   * TOPIC_CONFLICT error. Unknown option names are refused.
   */
  async createTopic(name: string, options?: TopicOptions): Promise<void> {
    this.#checkOpen();
    checkName('topic', name);
    if (options === undefined && this.#catalog.topic(name)) return;
    const resolved = resolveTopicOptions(name, options ?? {});
    const isNew = !this.#catalog.topic(name);
    if (resolved.deadLetter !== false) {
      const target = this.#catalog.topic(resolved.deadLetter);
      if (!target) await this.createTopic(resolved.deadLetter, DEAD_LETTER_TOPIC_OPTIONS);
      // Created first as an ordinary topic (an ops service that started first): its letters would
      // be retried 5 times and moved on to a dead-letter topic of its own, which no one expects.
      else if (isNew && target.deadLetter !== false) throw new DeadLetterTopicConflictError(name, resolved.deadLetter);
    }
    // Files left by a deleteTopic that a crash interrupted must not come back as the new topic's.
    if (isNew) this.#disk.fs.removeTree(this.#topicDir(name));
    await this.#catalog.addTopic(name, resolved, this.#clock.now());
    await this.#runtime.openTopic(name, resolved);
  }

  #topicDir(name: string): string {
    return join(this.#disk.dir, 'topics', name);
  }

  /**
   * Deletes a topic: its messages, its groups' state and its files. Durable first (the catalog
   * forgets it), then its partitions close and its files go; a crash in between leaves files that
   * nothing opens, removed when a topic of that name is created again. Its dead-letter topic stays
   * (the letters are kept: read them, redrive them `to` another topic, or delete it too).
   * Refused with TOPIC_IN_USE while a consumer of this engine reads it or while another topic
   * dead-letters into it. Resolves false if there was no such topic.
   */
  async deleteTopic(name: string): Promise<boolean> {
    this.#checkOpen();
    checkName('topic', name);
    if (!this.#catalog.topic(name)) return false;
    const readers = [...this.#consumers].filter((c) => (this.#memberTopics.get(c) ?? []).includes(name));
    if (readers.length > 0) throw new TopicInUseError(name, `consumer group ${JSON.stringify(readers[0]!.group)} has an open consumer reading it; close it first`);
    const origins = this.#catalog.topics().filter(([other, o]) => other !== name && o.deadLetter === name).map(([other]) => other);
    if (origins.length > 0) throw new TopicInUseError(name, `it is the dead-letter topic of ${origins.map((o) => JSON.stringify(o)).join(', ')}; delete ${origins.length > 1 ? 'those' : 'that'} first`);
    if (!this.#runtime.closeTopic) throw new InvalidArgumentError('this runtime cannot delete topics');
    await this.#catalog.removeTopic(name, this.#clock.now());
    this.#redriven.delete(name);
    await this.#runtime.closeTopic(name);
    this.#disk.fs.removeTree(this.#topicDir(name));
    await this.#disk.fs.syncDir(join(this.#disk.dir, 'topics')).catch(() => {}); // the removal is durable soon anyway; the delete is already
    return true;
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
    checkName('group', group);
    refuseUnknownOptions('deleteGroup options', options, ['topics']);
    if ([...this.#consumers].some((c) => c.group === group)) throw new GroupInUseError(group);
    const topics = options.topics === undefined ? this.#catalog.topics().map(([name]) => name) : checkTopicNames('deleteGroup options.topics', options.topics);
    const deletedFrom: string[] = [];
    for (const topic of topics) {
      const { partitions } = this.#topic(topic);
      const existed = await Promise.all(Array.from({ length: partitions }, (_, partition) => this.#runtime.call({ op: 'deleteGroup', topic, partition, group })));
      if (existed.some(Boolean)) deletedFrom.push(topic);
    }
    if (deletedFrom.length === 0) throw unknownGroupToDelete(group, options.topics);
    return deletedFrom;
  }

  /** Names of the topics, with their options. */
  topics(): { name: string; options: ResolvedTopicOptions }[] {
    return this.#catalog.topics().map(([name, options]) => ({ name, options }));
  }

  /**
   * A producer. With an `id`, opening another producer with the same id fences the older one at
   * once: its publishes fail with PRODUCER_FENCED from this call on, and the new one publishes
   * only once nothing of the older one is in flight and its own epoch is durable.
   */
  producer(options: ProducerOptions = {}): Producer {
    this.#checkOpen();
    const id = options.id;
    const older = id === undefined ? undefined : this.#named.get(id);
    // Fenced before the new instance exists, in this very call: the older one cannot publish after
    // it. Every older instance must be drained, not only the last (it may still wait on its own elders).
    const olderDrained = id === undefined ? undefined : Promise.all([older?.fence(this.#catalog.epochOf(id) + 1), this.#draining.get(id)]);
    if (id !== undefined) this.#draining.set(id, olderDrained);
    const producer: Producer = new Producer(
      {
        runtime: this.#runtime,
        clock: this.#clock,
        random: this.#random,
        maxMessageBytes: this.#maxMessageBytes,
        topic: (name) => this.#topic(name),
        bumpEpoch: async (producerId) => {
          await olderDrained;
          // Fenced while it waited: a newer instance takes the next epoch, not this one.
          if (this.#named.get(producerId) !== producer) throw new ProducerFencedError(producerId, -1, this.#catalog.epochOf(producerId) + 1);
          return this.#catalog.bumpEpoch(producerId, this.#clock.now());
        },
        onClose: () => {
          this.#producers.delete(producer);
          if (id !== undefined && this.#named.get(id) === producer) this.#named.delete(id);
        },
      },
      options,
    );
    this.#producers.add(producer);
    if (id !== undefined) this.#named.set(id, producer);
    return producer;
  }

  /** A member of consumer group `group`, reading `options.topics`. */
  consumer<V = unknown>(group: string, options: ConsumerOptions): Consumer<V> {
    this.#checkOpen();
    const consumer: Consumer<V> = new Consumer<V>(
      {
        runtime: this.#runtime,
        clock: this.#clock,
        random: this.#random,
        topic: (name) => this.#topic(name),
        onClose: () => this.#consumers.delete(consumer as Consumer),
        transaction: (headers) => {
          this.#checkOpen();
          return this.#transactions.begin(headers); // an exactlyOnce handler's: its outputs carry `headers`
        },
      },
      group,
      options,
    );
    this.#consumers.add(consumer as Consumer);
    this.#memberTopics.set(consumer as Consumer, [...new Set(options.topics)]);
    consumer.onFault(({ error, topic, partition, during }) =>
      this.#events.emit('consumerFailed', { type: 'consumerFailed', at: this.#clock.now(), group, topic, partition, during, code: error.code, message: error.message }),
    );
    return consumer;
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
    const moved = await redrive(
      {
        runtime: this.#runtime,
        random: this.#random,
        maxMessageBytes: this.#maxMessageBytes,
        topic: (name) => this.#topic(name),
        exists: (name) => this.#catalog.topic(name) !== undefined,
        deadLetterOf: (name) => this.#catalog.topics().filter(([, o]) => o.deadLetter === name).map(([t]) => t),
      },
      deadLetterTopic,
      options,
    );
    if (moved > 0) this.#redriven.set(deadLetterTopic, (this.#redriven.get(deadLetterTopic) ?? 0) + moved);
    return moved;
  }

  /** What the metrics collector reads: the runtime, the topics, the time. */
  protected metricsSource(): MetricsSource {
    return { runtime: this.#runtime, topics: this.#catalog.topics(), now: this.#clock.now(), redriven: this.#redriven };
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
    return (await collectMetrics(this.metricsSource(), false)).metrics;
  }

  #admin(): AdminHost {
    return { runtime: this.#runtime, topic: (name) => this.#topic(name) };
  }

  /**
   * Reads stored messages of a topic without a consumer group (nothing is leased, acked or
   * charged): a dead-letter topic's letters too, with their origin in `deadLetter`. From one
   * partition and an offset, or from every partition (merged by publish time) and a time.
   */
  read<V = unknown>(topic: string, options: ReadOptions = {}): Promise<StoredMessageView<V>[]> {
    this.#checkOpen();
    return readTopic<V>(this.#admin(), topic, options);
  }

  /**
   * One message's life, from the records of its partition's log: when it was published (key, id,
   * producer), each failed attempt per group with its error and retry time, the dead-letter move,
   * the ack, group resets; and what each group's state says of it now. Leases live in memory and
   * are not logged: a delivery shows as the attempt that failed, or as the ack.
   */
  inspect(topic: string, partition: number, offset: number): Promise<MessageHistory> {
    this.#checkOpen();
    return inspectMessage(this.#admin(), topic, partition, offset);
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
    checkName('group', group);
    if ([...this.#consumers].some((c) => c.group === group)) throw new GroupInUseError(group);
    return resetGroupPosition(this.#admin(), group, topic, options);
  }

  /** Every topic (options, partitions, offsets, disk use, groups) and group (members here, in flight and lag per partition). */
  async describe(): Promise<Description> {
    this.#checkOpen();
    const members = [...this.#consumers].map((c) => ({ group: c.group, topics: this.#memberTopics.get(c) ?? [] }));
    return describeAll(this.#catalog.topics(), members, await this.metrics());
  }

  /** One topic, as `describe()` gives it; UNKNOWN_TOPIC if there is none. */
  async describeTopic(name: string): Promise<TopicDescription> {
    this.#topic(name);
    return (await this.describe()).topics.find((t) => t.name === name)!;
  }

  /** One group, as `describe()` gives it; UNKNOWN_GROUP if no topic has it and no consumer of it is open. */
  async describeGroup(name: string): Promise<GroupDescription> {
    const found = (await this.describe()).groups.find((g) => g.name === name);
    if (!found) throw new UnknownGroupError(name, 'any topic');
    return found;
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
    return this.#events.on(name, listener);
  }

  /** Collects and delivers pending events now, without waiting for the next poll. */
  pollEvents(): Promise<void> {
    this.#checkOpen();
    return this.#events.poll();
  }

  /**
   * The same snapshot in the Prometheus text exposition format (serve it with
   * `Content-Type: text/plain; version=0.0.4`), OpenTelemetry messaging names translated the
   * standard way: `messaging_client_sent_messages_total{messaging_destination_name="orders",...}`.
   */
  async metricsText(): Promise<string> {
    return metricsText(await this.metrics());
  }

  /**
   * Runs `fn` in a transaction and commits it when `fn` resolves: every `tx.publish` (any topics
   * and partitions, on any thread) and `tx.ack` (any deliveries, of any groups) takes effect, or,
   * if `fn` throws or the commit fails (a typed error: STALE_DELIVERY for an ack whose lease ran
   * out, TRANSACTION_TOO_LARGE, ...), none does. Resolves with what `fn` returned.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    if (typeof fn !== 'function') throw new InvalidArgumentError(`ferry.transaction needs a function (tx) => ... (got ${showValue(fn)})`);
    const tx = this.#transactions.begin();
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      if (tx.state === 'open') await tx.abort();
      throw error;
    }
    await tx.commit();
    return result;
  }

  /**
   * Begins a half transaction (RocketMQ's transactional message): what it publishes is prepared
   * durably at once but invisible until `tx.commit()`; `tx.abort()` drops it. Await each publish
   * before your own local commit. After a crash, the engine asks `resolveInDoubt(id, info)` (an
   * option of Ferry.open) whether it committed. A newer begin with the same id fences this one
   * (TRANSACTION_FENCED); one left undecided for `transactionTimeoutMs` is aborted.
   */
  beginTransaction(options: { readonly id: string }): Promise<Transaction> {
    try {
      this.#checkOpen();
      if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`beginTransaction needs { id } (got ${showValue(options)})`);
      refuseUnknownOptions('beginTransaction options', options, ['id']);
      return this.#transactions.beginHalf(options.id);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Closes gracefully: consumers stop fetching and hand back what no handler took, handlers holding
   * deliveries get up to `timeoutMs` to settle them (default: each consumer's longest
   * `ackTimeoutMs`), producers flush, then every log is synced and closed and the lock released.
   * Idempotent.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    refuseUnknownOptions('close options', options, ['timeoutMs']);
    this.#closing ??= (async () => {
      this.#events.close();
      const consumerOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
      await Promise.allSettled([...this.#consumers].map((c) => c.close(consumerOptions)));
      await Promise.allSettled([...this.#producers].map((p) => p.close()));
      this.#transactions.close();
      await this.#runtime.close();
      await this.#decisions.close();
      await this.#catalog.close();
      this.#lock.release();
    })();
    return this.#closing;
  }
}
