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
  type Clock,
  type FileSystem,
  type FsyncPolicy,
  type LockHandle,
  type Random,
} from '../wal/index.ts';
import { CATALOG_LOG_OPTIONS, Catalog } from './catalog.ts';
import { ClosedError, GroupInUseError, ProducerFencedError, UnknownTopicError } from './errors.ts';
import { LocalRuntime } from './local-runtime.ts';
import { resolveEngineOptions } from './engine-options.ts';
import { redrive, type RedriveOptions } from './redrive.ts';
import { DECISION_LOG_OPTIONS, DecisionLog } from './decision-log.ts';
import type { Transaction } from './transaction.ts';
import { TransactionManager, type ResolveInDoubt } from './transactions.ts';

export type { RedriveOptions } from './redrive.ts';
import { checkName } from './names.ts';
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
  #closing: Promise<void> | undefined;

  /** Use `Ferry.open`. */
  protected constructor(runtime: PartitionRuntime, catalog: Catalog, clock: Clock, random: Random, maxMessageBytes: number, lock: LockHandle, transactions: { manager: TransactionManager; log: DecisionLog }) {
    this.#transactions = transactions.manager;
    this.#decisions = transactions.log;
    this.#lock = lock;
    this.#runtime = runtime;
    this.#catalog = catalog;
    this.#clock = clock;
    this.#random = random;
    this.#maxMessageBytes = maxMessageBytes;
  }

  /**
   * Opens the engine on a data directory, recovering every topic in it. `runtimeFactory` builds the
   * runtime for `threads > 0` (the package root passes the worker-thread one; core never imports it).
   */
  static async open(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<Ferry> {
    const { threads, fsync, fsyncIntervalMs, segmentBytes, maxMessageBytes, limits, repair, transactionTimeoutMs } = resolveEngineOptions(options as unknown as Record<string, unknown>);
    const fs = options.fs ?? nodeFileSystem;
    const clock = options.clock ?? realClock;
    const random = options.random ?? new SeededRandom((clock.now() ^ (process.pid << 16)) >>> 0);
    // One lock for the whole data directory, held by this thread; the logs under it open unlocked.
    fs.mkdirp(options.dir);
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
      return new Ferry(runtime, catalog, clock, random, maxMessageBytes, lock, { manager, log: decisions });
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
    if (resolved.deadLetter !== false && !this.#catalog.topic(resolved.deadLetter)) {
      await this.createTopic(resolved.deadLetter, DEAD_LETTER_TOPIC_OPTIONS);
    }
    await this.#catalog.addTopic(name, resolved, this.#clock.now());
    await this.#runtime.openTopic(name, resolved);
  }

  /**
   * Deletes consumer group `group` from `topics` (default: every topic), so it no longer holds
   * back retention: its acks, pending retries and leases are gone, and a consumer that joins it
   * later starts again from the beginning of the log. Refused (GROUP_IN_USE) while a consumer of
   * the group is open in this engine. Resolves with the topics it was deleted from.
   */
  async deleteGroup(group: string, options: { readonly topics?: readonly string[] } = {}): Promise<string[]> {
    this.#checkOpen();
    checkName('group', group);
    refuseUnknownOptions('deleteGroup options', options, ['topics']);
    if ([...this.#consumers].some((c) => c.group === group)) throw new GroupInUseError(group);
    const topics = options.topics ?? this.#catalog.topics().map(([name]) => name);
    const deletedFrom: string[] = [];
    for (const topic of topics) {
      const { partitions } = this.#topic(topic);
      const existed = await Promise.all(Array.from({ length: partitions }, (_, partition) => this.#runtime.call({ op: 'deleteGroup', topic, partition, group })));
      if (existed.some(Boolean)) deletedFrom.push(topic);
    }
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
    return consumer;
  }

  /**
   * Moves dead letters back, each once: by default to its partition of origin and only for the
   * group that dead-lettered it, keeping value, key, headers and id; with `to`, to another topic
   * for all its groups. A letter is acked only once its copy is durable, and a redrive repeated
   * after a crash (within the target's dedupe window) stores it once. Resolves with the number
   * moved. NOT_A_DEAD_LETTER_TOPIC for a topic no topic dead-letters into.
   */
  redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
    this.#checkOpen();
    return redrive(
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
  }

  /**
   * Runs `fn` in a transaction and commits it when `fn` resolves: every `tx.publish` (any topics
   * and partitions, on any thread) and `tx.ack` (any deliveries, of any groups) takes effect, or,
   * if `fn` throws or the commit fails (a typed error: STALE_DELIVERY for an ack whose lease ran
   * out, TRANSACTION_TOO_LARGE, ...), none does. Resolves with what `fn` returned.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.#checkOpen();
    if (typeof fn !== 'function') throw new InvalidArgumentError('ferry.transaction needs a function (tx) => ...');
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
      if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('beginTransaction needs { id }');
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
