// The in-thread runtime (`threads: 0`): partition actors live on the calling thread and are
// called directly. Also where dead letters are routed to their topic's partition.
import { join } from 'node:path';
import { WriteAheadLog, type Clock, type FileSystem, type FsyncPolicy, type Random, type TimerHandle } from '../wal/index.ts';
import { deadLetterPublish, type DeadLetter } from './dead-letter.ts';
import { UnknownTopicError } from './errors.ts';
import { PartitionActor, type DeadLetterSink, type PartitionLimits } from './partition-actor.ts';
import { PartitionMetrics } from './partition-metrics.ts';
import { withDeadline } from './deadline.ts';
import type { PartitionCommand, ReplyOf } from './partition-protocol.ts';
import { DEFAULT_RECORD_CACHE_BYTES, RecordCacheBudget } from './record-cache.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** What the in-thread runtime needs: where and how to open partition logs, and the seams. */
export interface LocalRuntimeOptions {
  readonly dir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  /** Zeros each partition log writes ahead of its appends (0: off). Default: the log's (1 MiB). */
  readonly zeroFillBytes?: number;
  /** Cut a log at corruption inside synced data instead of refusing to open it. Default false. */
  readonly repair?: boolean;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
  /** Publishes a dead letter; default: to the dead-letter topic's partition in this runtime. */
  readonly deadLetters?: (letter: DeadLetter) => Promise<void>;
}

interface OpenPartition {
  readonly actor: PartitionActor;
  readonly log: WriteAheadLog;
}

/** How often every partition checks what retention may delete. */
const RETENTION_CHECK_MS = 60_000;

/** Hosts partition actors on the calling thread (`threads: 0`; also inside each worker shard). */
export class LocalRuntime implements PartitionRuntime {
  readonly placement = 'in-thread';
  readonly #o: LocalRuntimeOptions;
  readonly #partitions = new Map<string, OpenPartition>();
  readonly #opening = new Map<string, Promise<void>>();
  /** Partition counts of the topics opened here, for routing dead letters. */
  readonly #partitionCounts = new Map<string, number>();
  #retentionTimer: TimerHandle | undefined;
  /**
   * One record cache budget for every partition hosted here. A worker shard is a runtime of its
   * own, so the worker runtime hands each shard its share (`recordCacheShare` in its options).
   */
  readonly #recordCache: RecordCacheBudget;

  constructor(options: LocalRuntimeOptions) {
    this.#o = options;
    this.#recordCache = new RecordCacheBudget(options.limits.recordCacheBytes ?? DEFAULT_RECORD_CACHE_BYTES);
    this.#scheduleRetention();
  }

  #scheduleRetention(): void {
    this.#retentionTimer = this.#o.clock.setTimer(RETENTION_CHECK_MS, () => {
      // A failed checkpoint stays on the actor (lastCheckpointError) and this timer retries it;
      // any other failure is the log's, reported to the partition's next request.
      this.#forEachActor((actor) => actor.retain().catch(() => {}));
      this.#scheduleRetention();
    });
  }

  openTopic(topic: string, options: ResolvedTopicOptions): Promise<void> {
    return this.openPartitions(topic, options, Array.from({ length: options.partitions }, (_, p) => p));
  }

  /** Opens (recovering) some partitions of a topic; idempotent. A worker shard hosts a subset. */
  async openPartitions(topic: string, options: ResolvedTopicOptions, partitions: readonly number[]): Promise<void> {
    this.#partitionCounts.set(topic, options.partitions);
    await Promise.all(
      partitions.map((p) => {
        const key = `${topic}/${p}`;
        let opening = this.#opening.get(key);
        if (!opening) {
          opening = this.#openPartition(topic, options, p);
          this.#opening.set(key, opening);
          opening.catch(() => this.#opening.delete(key));
        }
        return opening;
      }),
    );
  }

  async #openPartition(topic: string, options: ResolvedTopicOptions, p: number): Promise<void> {
    const metrics = new PartitionMetrics(this.#o.limits.metrics !== false);
    const started = this.#o.clock.monotonicNow();
    const log = await WriteAheadLog.open({
      onSyncMs: (ms) => metrics.fsync.record(ms),
      dir: join(this.#o.dir, 'topics', topic, String(p)),
      fs: this.#o.fs,
      clock: this.#o.clock,
      fsync: this.#o.fsync,
      fsyncIntervalMs: this.#o.fsyncIntervalMs,
      segmentBytes: this.#o.segmentBytes,
      zeroFillBytes: this.#o.zeroFillBytes,
      repair: this.#o.repair === true,
      maxBatchBytes: Math.max(16 * 1024 * 1024, 2 * this.#o.maxMessageBytes),
      lock: false, // the engine holds the data directory's lock
    });
    try {
      const actor = PartitionActor.open({
        topic,
        partition: p,
        options,
        clock: this.#o.clock,
        random: this.#o.random.fork(`${topic}/${p}`),
        log,
        limits: this.#o.limits,
        maxMessageBytes: this.#o.maxMessageBytes,
        incarnation: this.#o.random.int(2 ** 31),
        deadLetters: this.#o.deadLetters ?? this.#deadLetterSink,
        recordCache: this.#recordCache,
        metrics,
      });
      metrics.recoveryMs = this.#o.clock.monotonicNow() - started;
      const cut = log.recovery.truncated;
      if (cut) {
        const { kind, segment, position, droppedBytes, atOffset } = cut;
        metrics.event({ type: 'tornTailCut', at: this.#o.clock.now(), topic, partition: p, kind, segment, position, droppedBytes, atOffset });
      }
      this.#partitions.set(`${topic}/${p}`, { actor, log });
    } catch (error) {
      await log.close();
      throw error;
    }
  }

  #partition(topic: string, partition: number): PartitionActor {
    const p = this.#partitions.get(`${topic}/${partition}`);
    if (!p) throw new UnknownTopicError(topic);
    return p.actor;
  }

  /** Dead letters go to their topic's partition here (every partition is local in this runtime). */
  readonly #deadLetterSink: DeadLetterSink = async (letter) => {
    const partitions = this.#partitionCounts.get(letter.deadLetterTopic);
    if (partitions === undefined) throw new UnknownTopicError(letter.deadLetterTopic);
    const { partition, request } = deadLetterPublish(letter, partitions);
    await this.call({ op: 'publish', topic: letter.deadLetterTopic, partition, request });
  };

  call<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    return withDeadline(this.#o.clock, command, this.handle(command));
  }

  /** Runs a command on its actor, with no deadline of its own (a worker shard's caller keeps it). */
  handle<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    try {
      return this.#partition(command.topic, command.partition).handle(command);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  closeTopic(topic: string): Promise<void> {
    const count = this.#partitionCounts.get(topic) ?? 0;
    return this.closePartitions(topic, Array.from({ length: count }, (_, p) => p));
  }

  /** Closes some partitions of a topic (a worker shard hosts a subset) and forgets them; idempotent. */
  async closePartitions(topic: string, partitions: readonly number[]): Promise<void> {
    const keys = partitions.map((p) => `${topic}/${p}`);
    await Promise.allSettled(keys.map((key) => this.#opening.get(key)));
    const open = keys.flatMap((key) => {
      const p = this.#partitions.get(key);
      this.#partitions.delete(key);
      this.#opening.delete(key);
      return p ? [p] : [];
    });
    for (const { actor } of open) actor.close();
    await Promise.allSettled(open.map(({ log }) => log.close()));
    if (![...this.#partitions.keys()].some((k) => k.startsWith(`${topic}/`))) this.#partitionCounts.delete(topic); // names hold no '/'
  }

  /** Bytes of records cached by all the partitions here together (at most `limits.recordCacheBytes`). */
  get recordCacheBytes(): number {
    return this.#recordCache.bytes;
  }

  /** Each open partition's recovered state (`PartitionActor.describe`), by `topic/partition`. */
  describe(): Record<string, ReturnType<PartitionActor['describe']>> {
    return Object.fromEntries([...this.#partitions].map(([name, { actor }]) => [name, actor.describe()]));
  }

  async close(): Promise<void> {
    this.#retentionTimer?.cancel();
    await Promise.allSettled([...this.#opening.values()]);
    const all = [...this.#partitions.values()];
    for (const { actor } of all) actor.close();
    await Promise.allSettled(all.map(({ log }) => log.close()));
    this.#partitions.clear();
  }

  #forEachActor(visit: (actor: PartitionActor) => void): void {
    for (const { actor } of this.#partitions.values()) visit(actor);
  }
}
