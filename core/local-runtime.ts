// The in-thread runtime (`threads: 0`): partition actors live on the calling thread and are
// called directly. Also where dead letters are routed to their topic's partition.
import { join } from 'node:path';
import { WriteAheadLog, type Clock, type FileSystem, type FsyncPolicy, type Random, type TimerHandle } from '../wal/index.ts';
import { frameMessages } from './codec.ts';
import { UnknownTopicError } from './errors.ts';
import { hash32, producerNumber } from './hash.ts';
import { PartitionActor, type DeadLetterSink, type PartitionLimits } from './partition-actor.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export interface LocalRuntimeOptions {
  readonly dir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly random: Random;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
}

interface OpenPartition {
  readonly actor: PartitionActor;
  readonly log: WriteAheadLog;
}

/** How often every partition checks what retention may delete. */
const RETENTION_CHECK_MS = 60_000;

export class LocalRuntime implements PartitionRuntime {
  readonly #o: LocalRuntimeOptions;
  readonly #topics = new Map<string, OpenPartition[]>();
  readonly #opening = new Map<string, Promise<void>>();
  #retentionTimer: TimerHandle | undefined;

  constructor(options: LocalRuntimeOptions) {
    this.#o = options;
    this.#scheduleRetention();
  }

  #scheduleRetention(): void {
    this.#retentionTimer = this.#o.clock.setTimer(RETENTION_CHECK_MS, () => {
      for (const partitions of this.#topics.values()) for (const { actor } of partitions) actor.retain().catch(() => {});
      this.#scheduleRetention();
    });
  }

  openTopic(topic: string, options: ResolvedTopicOptions): Promise<void> {
    let opening = this.#opening.get(topic);
    if (!opening) {
      opening = this.#openTopic(topic, options);
      this.#opening.set(topic, opening);
      opening.catch(() => this.#opening.delete(topic));
    }
    return opening;
  }

  async #openTopic(topic: string, options: ResolvedTopicOptions): Promise<void> {
    const partitions: OpenPartition[] = [];
    try {
      for (let p = 0; p < options.partitions; p++) {
        const log = await WriteAheadLog.open({
          dir: join(this.#o.dir, 'topics', topic, String(p)),
          fs: this.#o.fs,
          clock: this.#o.clock,
          fsync: this.#o.fsync,
          fsyncIntervalMs: this.#o.fsyncIntervalMs,
          segmentBytes: this.#o.segmentBytes,
          maxBatchBytes: Math.max(16 * 1024 * 1024, 2 * this.#o.maxMessageBytes),
        });
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
          deadLetters: this.#deadLetterSink,
        });
        partitions.push({ actor, log });
      }
    } catch (error) {
      for (const { actor, log } of partitions) {
        actor.close();
        await log.close();
      }
      throw error;
    }
    this.#topics.set(topic, partitions);
  }

  #partition(topic: string, partition: number): PartitionActor {
    const p = this.#topics.get(topic)?.[partition];
    if (!p) throw new UnknownTopicError(topic);
    return p.actor;
  }

  /** Dead letters of one (partition, group) always go to the same dead-letter partition, in sequence. */
  readonly #deadLetterSink: DeadLetterSink = async (letter) => {
    const partitions = this.#topics.get(letter.deadLetterTopic);
    if (!partitions) throw new UnknownTopicError(letter.deadLetterTopic);
    const target = partitions[hash32(letter.producerKey) % partitions.length]!.actor;
    await target.publish({
      payload: frameMessages([letter.record]),
      count: 1,
      producer: { id: producerNumber(letter.producerKey), epoch: 0, baseSequence: letter.sequence, name: letter.producerKey },
    });
  };

  publish: PartitionRuntime['publish'] = async (topic, partition, request) => this.#partition(topic, partition).publish(request);
  ensureGroup: PartitionRuntime['ensureGroup'] = async (topic, partition, group, ordering) => this.#partition(topic, partition).ensureGroup(group, ordering);
  fetch: PartitionRuntime['fetch'] = async (topic, partition, request) => this.#partition(topic, partition).fetch(request);
  ack: PartitionRuntime['ack'] = async (topic, partition, group, offset, token) => this.#partition(topic, partition).ack(group, offset, token);
  nack: PartitionRuntime['nack'] = async (topic, partition, group, offset, token, options) => this.#partition(topic, partition).nack(group, offset, token, options);
  extend: PartitionRuntime['extend'] = async (topic, partition, group, offset, token, ms) => this.#partition(topic, partition).extend(group, offset, token, ms);
  release: PartitionRuntime['release'] = async (topic, partition, consumerId) => this.#partition(topic, partition).release(consumerId);

  async close(): Promise<void> {
    this.#retentionTimer?.cancel();
    await Promise.allSettled([...this.#opening.values()]);
    const all = [...this.#topics.values()].flat();
    for (const { actor } of all) actor.close();
    await Promise.allSettled(all.map(({ log }) => log.close()));
    this.#topics.clear();
  }
}
