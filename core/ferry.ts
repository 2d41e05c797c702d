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
import { Catalog } from './catalog.ts';
import { decodeBody, decodeMeta } from './codec.ts';
import { originalHeaders, readDeadLetterInfo } from './dead-letter.ts';
import { ClosedError, ProducerFencedError, UnknownTopicError } from './errors.ts';
import { LocalRuntime } from './local-runtime.ts';
import { checkName } from './names.ts';
import type { PartitionLimits } from './partition-actor.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { Producer, type ProducerOptions } from './producer.ts';
import type { PartitionRuntime } from './runtime.ts';
import { resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topic-options.ts';

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
  readonly fsyncIntervalMs?: number;
  /** Segment size of every partition log. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest encoded message. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  readonly limits?: Partial<PartitionLimits>;
  /** Seams: the simulator and tests pass their own. */
  readonly fs?: FileSystem;
  readonly clock?: Clock;
  readonly random?: Random;
}

/** Builds the runtime for `threads > 0`; supplied by the composition root (index.ts). */
export type RuntimeFactory = (options: { readonly threads: number | 'auto'; readonly local: ConstructorParameters<typeof LocalRuntime>[0] }) => PartitionRuntime;

const DEFAULT_LIMITS: PartitionLimits = {
  maxUnsettledPerGroup: 10_000,
  maxWaiters: 4096,
  maxDedupIds: 1_000_000,
  maxProducers: 10_000,
  checkpointEveryRecords: 10_000,
  maxGroups: 1024,
};

/** Options of `redrive`. */
export interface RedriveOptions {
  /** Topic to move the dead letters to. Default: each letter's topic of origin. */
  readonly to?: string;
  /** Most letters to move. Default: all that are there now. */
  readonly limit?: number;
}

/**
 * An open engine on one data directory: create topics, hand out producers and consumers, redrive
 * dead letters. Open it with `Ferry.open`, close it with `close()` (syncs and releases the lock).
 */
export class Ferry {
  readonly #lock: LockHandle;
  readonly #runtime: PartitionRuntime;
  readonly #catalog: Catalog;
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

  static #threadedRuntime: RuntimeFactory | undefined;

  /** Installs the runtime used for `threads > 0` (the package root does, so core never imports workers/). */
  static useThreadedRuntime(factory: RuntimeFactory): void {
    Ferry.#threadedRuntime = factory;
  }

  private constructor(runtime: PartitionRuntime, catalog: Catalog, clock: Clock, random: Random, maxMessageBytes: number, lock: LockHandle) {
    this.#lock = lock;
    this.#runtime = runtime;
    this.#catalog = catalog;
    this.#clock = clock;
    this.#random = random;
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Opens the engine on a data directory, recovering every topic in it. */
  static async open(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<Ferry> {
    if (typeof options !== 'object' || options === null || typeof options.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('Ferry.open needs { dir }');
    const threads = options.threads ?? 0;
    if (threads !== 'auto' && (!Number.isSafeInteger(threads) || threads < 0 || threads > 256)) throw new InvalidArgumentError(`options.threads must be 'auto' or an integer from 0 to 256 (got ${String(options.threads)})`);
    const fsync = options.fsync ?? 'interval';
    const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 64 || maxMessageBytes > 64 * 1024 * 1024) throw new InvalidArgumentError('options.maxMessageBytes must be an integer from 64 to 64 MiB');
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
    let catalogLog: WriteAheadLog;
    try {
      catalogLog = await WriteAheadLog.open({ dir: join(options.dir, '_catalog'), fs, clock, fsync: fsync === 'none' ? 'interval' : fsync, segmentBytes: 4 * 1024 * 1024, lock: false });
    } catch (error) {
      lock.release();
      throw error;
    }
    const local = {
      dir: options.dir,
      fs,
      clock,
      random: random.fork('runtime'),
      fsync,
      fsyncIntervalMs: options.fsyncIntervalMs ?? 0,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      maxMessageBytes,
      limits: Object.freeze({ ...DEFAULT_LIMITS, ...options.limits }),
    };
    const factory = runtimeFactory ?? Ferry.#threadedRuntime;
    const threaded = threads === 'auto' || threads > 0;
    if (threaded && !factory) {
      await catalogLog.close();
      lock.release();
      throw new InvalidArgumentError('options.threads > 0 needs the worker runtime: import Ferry from the package root');
    }
    let runtime: PartitionRuntime;
    try {
      runtime = threaded ? factory!({ threads, local }) : new LocalRuntime(local);
    } catch (error) {
      // A runtime that cannot start (bad options, no threads) leaves the directory as it found it.
      await catalogLog.close();
      lock.release();
      throw error;
    }
    const catalog = Catalog.load(catalogLog);
    const ferry = new Ferry(runtime, catalog, clock, random, maxMessageBytes, lock);
    try {
      for (const [name, topicOptions] of catalog.topics()) await runtime.openTopic(name, topicOptions);
    } catch (error) {
      await runtime.close();
      await catalog.close();
      lock.release();
      throw error;
    }
    return ferry;
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
   * Creates a topic (and its dead-letter topic). Idempotent for the same options; a typed
   * TOPIC_CONFLICT error for different ones.
   */
  async createTopic(name: string, options: TopicOptions = {}): Promise<void> {
    this.#checkOpen();
    checkName('topic', name);
    const resolved = resolveTopicOptions(name, options);
    if (resolved.deadLetter !== false && !this.#catalog.topic(resolved.deadLetter)) {
      await this.createTopic(resolved.deadLetter, { deadLetter: false, partitions: 1 });
    }
    await this.#catalog.addTopic(name, resolved, this.#clock.now());
    await this.#runtime.openTopic(name, resolved);
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
      { runtime: this.#runtime, clock: this.#clock, random: this.#random, topic: (name) => this.#topic(name), onClose: () => this.#consumers.delete(consumer as Consumer) },
      group,
      options,
    );
    this.#consumers.add(consumer as Consumer);
    return consumer;
  }

  /**
   * Moves dead letters back to their topic of origin (or `to`), each once: the moved copy carries
   * a message id derived from the letter, so a redrive repeated after a crash (within the target's
   * dedupe window) stores it once, and the letter is acknowledged only after the copy is durable.
   * Resolves with the number of letters moved.
   */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
    this.#checkOpen();
    this.#topic(deadLetterTopic);
    if (options.to !== undefined) this.#topic(options.to);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const group = 'ferry.redrive';
    const consumerId = `${group}/${this.#random.int(2 ** 31).toString(36)}`;
    const partitions = this.#topic(deadLetterTopic).partitions;
    for (let p = 0; p < partitions; p++) await this.#runtime.ensureGroup(deadLetterTopic, p, group, 'none');
    const producer = this.producer({ idempotent: true });
    let moved = 0;
    try {
      for (let progress = true; progress && moved < limit; ) {
        progress = false;
        for (let p = 0; p < partitions && moved < limit; p++) {
          const batch = await this.#runtime.fetch(deadLetterTopic, p, { group, consumerId, max: Math.min(256, limit - moved), waitMs: 0 });
          for (const m of batch) {
            const meta = decodeMeta(m.record);
            const body = decodeBody(m.record);
            const target = options.to ?? readDeadLetterInfo(body.headers)?.topic;
            if (!target || !this.#catalog.topic(target)) continue; // left for a later redrive with `to`
            const headers = originalHeaders(body.headers);
            await producer.publish(target, {
              value: body.value,
              ...(meta.key === undefined ? {} : { key: meta.key }),
              ...(headers ? { headers } : {}),
              id: `ferry-redrive/${deadLetterTopic}/${p}/${m.offset}`,
            });
            await this.#runtime.ack(deadLetterTopic, p, group, m.offset, m.token);
            moved++;
            progress = true;
          }
        }
      }
    } finally {
      // Letters fetched but not moved go back without charging an attempt.
      for (let p = 0; p < partitions; p++) await this.#runtime.release(deadLetterTopic, p, consumerId).catch(() => {});
      await producer.close();
    }
    return moved;
  }

  /** Closes consumers (releasing leases) and producers (flushing), then syncs and closes every log. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#consumers].map((c) => c.close()));
      await Promise.allSettled([...this.#producers].map((p) => p.close()));
      await this.#runtime.close();
      await this.#catalog.close();
      this.#lock.release();
    })();
    return this.#closing;
  }
}
