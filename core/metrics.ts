// The engine's metrics snapshot (runs on the caller's thread): one `stats` command per partition,
// sent together (the worker runtime posts a turn's requests to a shard as one message), their
// answers summed per topic, per group and for the engine. Counters live in the partitions; nothing
// here runs per message.
import { FerryError } from '../wal/index.ts';
import { emptyHistogram, mergeHistograms, type HistogramSnapshot } from './metrics-histogram.ts';
import type { GroupCounters, PartitionEvent } from './partition-metrics.ts';
import type { GroupPartitionStats, PartitionStats } from './partition-stats.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export type { HistogramSnapshot } from './metrics-histogram.ts';
export type { GroupPartitionStats, PartitionStats } from './partition-stats.ts';

/** One partition of a topic in a snapshot (its events are delivered as events, not kept here). */
export type PartitionMetricsSnapshot = Omit<PartitionStats, 'events' | 'eventsDropped'>;

/** A topic: its partitions' figures and their sums. */
export interface TopicMetrics {
  readonly topic: string;
  readonly partitions: readonly PartitionMetricsSnapshot[];
  readonly published: number;
  readonly duplicates: number;
  readonly logBytes: number;
  readonly logSegments: number;
  /** Dead letters moved back out of this topic by `ferry.redrive` since the engine opened (dead-letter topics only). */
  readonly redriven: number;
}

/** A consumer group on one topic: per partition, and summed. */
export interface GroupMetrics extends Readonly<GroupCounters> {
  readonly group: string;
  readonly topic: string;
  readonly partitions: readonly (GroupPartitionStats & { readonly partition: number })[];
  readonly inFlight: number;
  readonly delayed: number;
  readonly dying: number;
  /** Unsettled messages on every partition: the consumer lag in messages. */
  readonly lag: number;
  /** Age (ms) of the oldest message the group has not settled on any partition, 0 when none. */
  readonly lagAgeMs: number;
}

/** The engine's own figures. */
export interface EngineMetrics {
  /** publish received → durable, per batch (`messaging.client.operation.duration`, send). */
  readonly confirm: HistogramSnapshot;
  /** publish → first delivery, per message and group. */
  readonly deliver: HistogramSnapshot;
  /** handler took the message → ack or nack (`messaging.process.duration`). */
  readonly handler: HistogramSnapshot;
  /** One log sync. */
  readonly fsync: HistogramSnapshot;
  /** The slowest partition open (log recovery and state replay) of the partitions open now, in ms. */
  readonly recoveryMsMax: number;
  /** Bytes recovery cut from the partitions' logs (torn tails after a crash, or a repair). */
  readonly recoveryCutBytes: number;
  /** Worker thread restarts since the engine opened (0 with threads: 0). */
  readonly workerRestarts: number;
  /** Shards stopped for good (their restart budget ran out). */
  readonly shardsFailed: number;
  /** Partitions whose last checkpoint failed: retention deletes nothing there until one succeeds. */
  readonly retentionBlocked: number;
}

/** A partition that did not answer the scrape, and why. */
export interface UnavailablePartition {
  readonly topic: string;
  readonly partition: number;
  readonly code: string;
  readonly message: string;
}

/** Everything `ferry.metrics()` returns. Counters run from when each partition opened (a restart starts them again, as Prometheus expects). */
export interface FerryMetrics {
  /** Wall time of the snapshot (ms). */
  readonly at: number;
  readonly topics: readonly TopicMetrics[];
  readonly groups: readonly GroupMetrics[];
  readonly engine: EngineMetrics;
  readonly unavailable: readonly UnavailablePartition[];
}

/** What the engine hands the collector. */
export interface MetricsSource {
  readonly runtime: PartitionRuntime;
  readonly topics: readonly (readonly [string, ResolvedTopicOptions])[];
  readonly now: number;
  readonly redriven: ReadonlyMap<string, number>;
}

/** What one collection gathered: the snapshot and, when asked, the partitions' alert events. */
export interface Collected {
  readonly metrics: FerryMetrics;
  readonly events: readonly PartitionEvent[];
  readonly eventsDropped: number;
  /** Per shard (worker thread): restarts so far and whether it is stopped for good; empty with threads: 0. */
  readonly shards: readonly { readonly restarts: number; readonly failed: boolean }[];
}

const COUNTER_NAMES = ['delivered', 'acked', 'nacked', 'redeliveredAfterNack', 'redeliveredAfterLeaseExpiry', 'leasesExpired', 'deadLettered'] as const;

/** Asks every partition for its figures (all at once) and sums them. */
export async function collectMetrics(source: MetricsSource, takeEvents: boolean): Promise<Collected> {
  const { runtime, topics, now } = source;
  const asks = topics.flatMap(([topic, options]) => Array.from({ length: options.partitions }, (_, partition) => ({ topic, partition })));
  const answers = await Promise.all(
    asks.map(({ topic, partition }) =>
      runtime.call({ op: 'stats', topic, partition, events: takeEvents }).then(
        (stats) => ({ ok: true as const, stats }),
        (error: unknown) => ({ ok: false as const, topic, partition, code: error instanceof FerryError ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) }),
      ),
    ),
  );
  const stats: PartitionStats[] = [];
  const unavailable: UnavailablePartition[] = [];
  for (const a of answers) {
    if (a.ok) stats.push(a.stats);
    else unavailable.push({ topic: a.topic, partition: a.partition, code: a.code, message: a.message });
  }
  const events = stats.flatMap((s) => s.events);
  const eventsDropped = stats.reduce((n, s) => n + s.eventsDropped, 0);
  const health = runtime.health?.() ?? { restarts: 0, failed: 0, shards: [] };
  const metrics: FerryMetrics = {
    at: now,
    topics: topics.map(([topic]) => topicMetrics(topic, stats.filter((s) => s.topic === topic), source.redriven.get(topic) ?? 0)),
    groups: groupMetrics(stats, now),
    engine: {
      confirm: sumHistograms(stats.map((s) => s.confirm)),
      deliver: sumHistograms(stats.map((s) => s.deliver)),
      handler: sumHistograms(stats.map((s) => s.handler)),
      fsync: sumHistograms(stats.map((s) => s.fsync)),
      recoveryMsMax: stats.reduce((max, s) => Math.max(max, s.recoveryMs), 0),
      recoveryCutBytes: stats.reduce((n, s) => n + s.recoveryCutBytes, 0),
      workerRestarts: health.restarts,
      shardsFailed: health.failed,
      retentionBlocked: stats.filter((s) => s.checkpointError !== null).length,
    },
    unavailable,
  };
  return { metrics, events, eventsDropped, shards: health.shards };
}

function sumHistograms(all: readonly HistogramSnapshot[]): HistogramSnapshot {
  return all.reduce(mergeHistograms, emptyHistogram());
}

function topicMetrics(topic: string, partitions: readonly PartitionStats[], redriven: number): TopicMetrics {
  const plain = partitions.map(({ events: _events, eventsDropped: _dropped, ...rest }) => rest).sort((a, b) => a.partition - b.partition);
  const sum = (pick: (p: PartitionMetricsSnapshot) => number): number => plain.reduce((n, p) => n + pick(p), 0);
  return { topic, partitions: plain, published: sum((p) => p.published), duplicates: sum((p) => p.duplicates), logBytes: sum((p) => p.logBytes), logSegments: sum((p) => p.logSegments), redriven };
}

function groupMetrics(stats: readonly PartitionStats[], now: number): GroupMetrics[] {
  const byKey = new Map<string, { group: string; topic: string; partitions: (GroupPartitionStats & { partition: number })[] }>();
  for (const s of stats) {
    for (const g of s.groups) {
      const key = `${g.group}\u0000${s.topic}`;
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { group: g.group, topic: s.topic, partitions: [] }));
      entry.partitions.push({ ...g, partition: s.partition });
    }
  }
  return [...byKey.values()].map(({ group, topic, partitions }) => {
    partitions.sort((a, b) => a.partition - b.partition);
    const sum = (pick: (p: GroupPartitionStats) => number): number => partitions.reduce((n, p) => n + pick(p), 0);
    const counters = Object.fromEntries(COUNTER_NAMES.map((name) => [name, sum((p) => p[name])])) as unknown as GroupCounters;
    const oldest = Math.min(Number.POSITIVE_INFINITY, ...partitions.map((p) => p.oldestUnsettledAt ?? Number.POSITIVE_INFINITY));
    return {
      group,
      topic,
      partitions,
      ...counters,
      inFlight: sum((p) => p.inFlight),
      delayed: sum((p) => p.delayed),
      dying: sum((p) => p.dying),
      lag: sum((p) => p.backlog),
      lagAgeMs: oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, now - oldest),
    };
  });
}
