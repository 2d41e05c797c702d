// The threaded runtime (`threads: N`): partitions are hashed onto N shards, each a worker thread
// hosting its partitions' actors. Requests and replies cross as plain data over MessagePorts,
// message bytes are transferred, not copied; dead letters are routed here between shards.
import { UnknownTopicError, commandTimeoutMs, deadLetterPublish, describeCommand, hash32, type PartitionCommand, type PartitionLimits, type PartitionRuntime, type ReplyOf, type ResolvedTopicOptions } from '../core/index.ts';
import { InvalidArgumentError, type FsyncPolicy, showValue } from '../wal/index.ts';
import type { DeadLetterUpcall, ShardCall } from './protocol.ts';
import { Shard, type HeartbeatPolicy, type RestartPolicy, type ShardDeath, type ShardHealth } from './shard.ts';

/** Options of the threaded runtime: shard count, log settings, limits, restart policy. */
export interface WorkerRuntimeOptions {
  readonly threads: number;
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  /** Zeros each partition log writes ahead of its appends (0: off). Default: the log's (1 MiB). */
  readonly zeroFillBytes?: number;
  /** Cut logs at corruption inside synced data instead of refusing to open them. */
  readonly repair?: boolean;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
  readonly seed: number;
  /** Restart budget of each shard; default 5 restarts within 60 s, backing off from 50 ms. */
  readonly restart?: RestartPolicy;
  /**
   * Heap cap of each worker thread in MB (V8's old generation, piscina's
   * `resourceLimits.maxOldGenerationSizeMb`), so a runaway shard dies alone, with
   * ERR_WORKER_OUT_OF_MEMORY, and restarts, instead of taking the process. A whole number from
   * {@link MIN_WORKER_HEAP_MB}; default: no cap beyond V8's own.
   */
  readonly maxWorkerHeapMb?: number;
  /** How each shard's worker is watched: a ping every second, hung (terminated, restarted) after 10 s without an answer. */
  readonly heartbeat?: HeartbeatPolicy;
}

/** The smallest worker heap cap accepted: a worker needs about 10 MB just to load the engine. */
export const MIN_WORKER_HEAP_MB = 16;

/** Throws a typed error unless `heapMb` is unset or a valid worker heap cap. */
export function checkWorkerHeapMb(heapMb: number | undefined): void {
  if (heapMb !== undefined && (!Number.isSafeInteger(heapMb) || heapMb < MIN_WORKER_HEAP_MB)) {
    throw new InvalidArgumentError(`options.maxWorkerHeapMb must be a whole number of MB, at least ${MIN_WORKER_HEAP_MB} (got ${showValue(heapMb)})`);
  }
}

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, windowMs: 60_000, backoffMs: 50 };

/** Hosts partitions on worker threads (`threads: N`), routing each to its shard by a stable hash. */
export class WorkerRuntime implements PartitionRuntime {
  readonly placement = 'worker';
  readonly #shards: Shard[];
  readonly #topics = new Map<string, ResolvedTopicOptions>();

  constructor(o: WorkerRuntimeOptions) {
    const heapMb = o.maxWorkerHeapMb;
    checkWorkerHeapMb(heapMb);
    this.#shards = Array.from({ length: o.threads }, (_, index) =>
      new Shard(
        index,
        { shard: index, dir: o.dir, fsync: o.fsync, fsyncIntervalMs: o.fsyncIntervalMs, segmentBytes: o.segmentBytes, zeroFillBytes: o.zeroFillBytes, repair: o.repair === true, maxMessageBytes: o.maxMessageBytes, limits: o.limits, seed: (o.seed + index * 7919) >>> 0 },
        { onUpcall: (u) => this.#deadLetter(u), reopenRequests: () => this.#reopenRequests(index) },
        o.restart ?? DEFAULT_RESTART,
        heapMb === undefined ? undefined : { maxOldGenerationSizeMb: heapMb },
        o.heartbeat,
      ),
    );
  }

  /** Number of shards (worker threads). */
  get shards(): number {
    return this.#shards.length;
  }

  /** The shard that owns a partition: a stable hash, so a partition always returns to the same worker. */
  shardOf(topic: string, partition: number): number {
    return hash32(`${topic}/${partition}`) % this.#shards.length;
  }

  #partitionsOn(shard: number, topic: string, options: ResolvedTopicOptions): number[] {
    return Array.from({ length: options.partitions }, (_, p) => p).filter((p) => this.shardOf(topic, p) === shard);
  }

  #reopenRequests(shard: number): ShardCall[] {
    const requests: ShardCall[] = [];
    for (const [topic, options] of this.#topics) {
      const partitions = this.#partitionsOn(shard, topic, options);
      if (partitions.length > 0) requests.push({ op: 'openTopic', topic, options, partitions });
    }
    return requests;
  }

  async openTopic(topic: string, options: ResolvedTopicOptions): Promise<void> {
    this.#topics.set(topic, options);
    await Promise.all(
      this.#shards.map((shard) => {
        const partitions = this.#partitionsOn(shard.index, topic, options);
        return partitions.length === 0 ? undefined : shard.request({ op: 'openTopic', topic, options, partitions }, `open ${topic}`, 120_000);
      }),
    );
  }

  async closeTopic(topic: string): Promise<void> {
    const options = this.#topics.get(topic);
    if (!options) return;
    this.#topics.delete(topic); // a shard that restarts now does not reopen it
    await Promise.all(
      this.#shards.map((shard) => {
        const partitions = this.#partitionsOn(shard.index, topic, options);
        return partitions.length === 0 ? undefined : shard.request({ op: 'closeTopic', topic, partitions }, `close ${topic}`, 60_000);
      }),
    );
  }

  #shard(topic: string, partition: number): Shard {
    if (!this.#topics.has(topic)) throw new UnknownTopicError(topic);
    return this.#shards[this.shardOf(topic, partition)]!;
  }

  async #deadLetter(u: DeadLetterUpcall): Promise<void> {
    const options = this.#topics.get(u.topic);
    if (!options) throw new UnknownTopicError(u.topic);
    const { partition, request } = deadLetterPublish(u, options.partitions);
    await this.call({ op: 'publish', topic: u.topic, partition, request });
  }

  call<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    let shard: Shard;
    try {
      shard = this.#shard(command.topic, command.partition);
    } catch (error) {
      return Promise.reject(error);
    }
    return shard.request({ op: 'command', command }, describeCommand(command), commandTimeoutMs(command)) as Promise<ReplyOf<C>>;
  }

  #shardAt(index: number): Shard {
    const shard = Number.isSafeInteger(index) ? this.#shards[index] : undefined;
    if (!shard) throw new InvalidArgumentError(`shard index must be a whole number from 0 to ${this.#shards.length - 1} (got ${showValue(index)})`);
    return shard;
  }

  /**
   * Fault drill, for tests and operators: kills one shard's worker, abruptly (`terminate`, the
   * default) or from inside the worker (`throw`: an uncaught exception; `exit`: `process.exit(exitCode)`;
   * `oom`: runs out of heap, which needs `maxWorkerHeapMb`). Its requests in flight fail with a
   * retriable SHARD_CRASHED and it restarts from its logs, within the restart budget. Resolves once
   * the shard has seen the death.
   */
  async killShard(index: number, how: ShardDeath = 'terminate', exitCode?: number): Promise<void> {
    await this.#shardAt(index).kill(how, exitCode);
  }

  /** A shard's restarts so far, and whether its restart budget ran out (SHARD_FAILED). */
  shardHealth(index: number): ShardHealth {
    return this.#shardAt(index).health;
  }

  /** Restarts of every shard so far, and how many shards are stopped for good (for metrics). */
  health(): { restarts: number; failed: number; shards: ShardHealth[] } {
    const shards = this.#shards.map((s) => s.health);
    return { restarts: shards.reduce((n, s) => n + s.restarts, 0), failed: shards.filter((s) => s.failed).length, shards };
  }

  /** Closes every shard, within `timeoutMs` (a shard that does not finish in time is terminated). */
  async close(timeoutMs?: number): Promise<void> {
    await Promise.all(this.#shards.map((s) => s.close(timeoutMs)));
  }
}
