// The metrics snapshot as OpenTelemetry instruments: names, units and attributes of the
// OpenTelemetry messaging conventions where they exist (`messaging.*`), `ferry.*` for the
// engine's own. One list serves every exporter: the Prometheus text and prom-client
// (metrics-text.ts translates the names) and an OpenTelemetry meter (otel-meter-bridge.ts).
// Pure: runs on the caller's thread over a snapshot that is already plain data.
import type { HistogramSnapshot } from './metrics-histogram.ts';
import type { FerryMetrics } from './metrics.ts';
import type { GroupCounters } from './partition-metrics.ts';

/** Attributes of one point: OpenTelemetry attribute names, string values. */
export type Attributes = Readonly<Record<string, string>>;

/** A counter or gauge, with a value per attribute set. */
export interface ScalarInstrument {
  readonly kind: 'counter' | 'gauge';
  readonly name: string;
  /** UCUM, as the conventions write it: `{message}`, `s`, `By`. */
  readonly unit: string;
  readonly description: string;
  readonly points: readonly (readonly [Attributes, number])[];
}

/** A histogram of durations in seconds, with buckets per attribute set. */
export interface HistogramInstrument {
  readonly kind: 'histogram';
  readonly name: string;
  readonly unit: 's';
  readonly description: string;
  readonly points: readonly (readonly [Attributes, HistogramSnapshot])[];
}

export type Instrument = ScalarInstrument | HistogramInstrument;

export const DESTINATION = 'messaging.destination.name';
export const PARTITION = 'messaging.destination.partition.id';
export const GROUP = 'messaging.consumer.group.name';
export const OPERATION = 'messaging.operation.name';

function scalar(kind: ScalarInstrument['kind'], name: string, unit: string, description: string, points: readonly (readonly [Attributes, number])[]): ScalarInstrument {
  return { kind, name, unit, description, points };
}

function histogram(name: string, description: string, attributes: Attributes, h: HistogramSnapshot): HistogramInstrument {
  return { kind: 'histogram', name, unit: 's', description, points: [[attributes, h]] };
}

/** An empty snapshot: the names and types of the families and instruments do not depend on the figures. */
export const EMPTY_METRICS: FerryMetrics = {
  at: 0,
  topics: [],
  groups: [],
  unavailable: [],
  engine: (() => {
    const h = { boundsSeconds: [], counts: [0], sumSeconds: 0, count: 0 };
    return { confirm: h, deliver: h, handler: h, fsync: h, recoveryMsMax: 0, recoveryCutBytes: 0, workerRestarts: 0, shardsFailed: 0, retentionBlocked: 0 };
  })(),
};

/** A partition's publish counters, attributed by topic and partition. */
export interface PartitionPoint {
  readonly a: Attributes;
  readonly p: { readonly published: number; readonly duplicates: number };
}

/** A group's counters on one partition, attributed by topic, partition and group. */
export interface GroupPoint {
  readonly a: Attributes;
  readonly p: Readonly<GroupCounters>;
}

/** The publish counters every backend has, per partition. */
export function publishInstruments(partitions: readonly PartitionPoint[]): Instrument[] {
  return [
    scalar('counter', 'messaging.client.sent.messages', '{message}', 'Messages published and stored, per partition (since the partition opened).', partitions.map(({ a, p }) => [a, p.published])),
    scalar('counter', 'ferry.messages.duplicates', '{message}', 'Published messages dropped as duplicates (a retried batch, a repeated message id).', partitions.map(({ a, p }) => [a, p.duplicates])),
  ];
}

/** The group counters every backend has, per group and partition. */
export function groupCounterInstruments(groupParts: readonly GroupPoint[]): Instrument[] {
  return [
    scalar('counter', 'messaging.client.consumed.messages', '{message}', 'Messages delivered to a consumer group (leases handed out, redeliveries included).', groupParts.map(({ a, p }) => [a, p.delivered])),
    scalar('counter', 'ferry.messages.acked', '{message}', 'Messages acknowledged by a group.', groupParts.map(({ a, p }) => [a, p.acked])),
    scalar('counter', 'ferry.messages.nacked', '{message}', 'Messages nacked by a group.', groupParts.map(({ a, p }) => [a, p.nacked])),
    scalar(
      'counter',
      'ferry.messages.redelivered',
      '{message}',
      'Failed attempts scheduled for redelivery, by what ended the attempt (error.type: nack or lease_expired).',
      groupParts.flatMap(({ a, p }) => [
        [{ ...a, 'error.type': 'nack' }, p.redeliveredAfterNack],
        [{ ...a, 'error.type': 'lease_expired' }, p.redeliveredAfterLeaseExpiry],
      ]),
    ),
    scalar('counter', 'ferry.leases.expired', '{lease}', 'Leases that ran out while a handler held the message.', groupParts.map(({ a, p }) => [a, p.leasesExpired])),
    scalar('counter', 'ferry.messages.dead_lettered', '{message}', 'Messages a group moved to the dead-letter topic.', groupParts.map(({ a, p }) => [a, p.deadLettered])),
  ];
}

/** The redrive counter, per dead-letter topic that had any. */
export function redrivenInstrument(topics: readonly { readonly topic: string; readonly redriven: number }[]): Instrument {
  return scalar('counter', 'ferry.messages.redriven', '{message}', 'Dead letters moved back out of a dead-letter topic by redrive.', topics.filter((t) => t.redriven > 0).map((t) => [{ [DESTINATION]: t.topic }, t.redriven]));
}

/** Partitions that did not answer this scrape. */
export function unavailableInstrument(count: number): Instrument {
  return scalar('gauge', 'ferry.partitions.unavailable', '{partition}', 'Partitions that did not answer this scrape.', [[{}, count]]);
}

/** The latency histograms every backend measures: confirm, handler, publish to first delivery. */
export function latencyInstruments(h: { readonly confirm: HistogramSnapshot; readonly handler: HistogramSnapshot; readonly deliver: HistogramSnapshot }): Instrument[] {
  return [
    histogram('messaging.client.operation.duration', 'Publish received by the partition until durable (confirm).', { [OPERATION]: 'send' }, h.confirm),
    histogram('messaging.process.duration', 'Handler took the message until its ack or nack.', { [OPERATION]: 'process' }, h.handler),
    histogram('ferry.publish_to_deliver.duration', 'Publish until the first delivery of a message to a group.', {}, h.deliver),
  ];
}

/** A gauge (for a backend's own figures: backends/nats). */
export function gaugeInstrument(name: string, unit: string, description: string, points: readonly (readonly [Attributes, number])[]): Instrument {
  return scalar('gauge', name, unit, description, points);
}

/** The snapshot as instruments (the same list every time, whatever the figures). */
export function metricInstruments(m: FerryMetrics): Instrument[] {
  const partitions = m.topics.flatMap((t) => t.partitions.map((p) => ({ a: { [DESTINATION]: t.topic, [PARTITION]: String(p.partition) }, p })));
  const groupParts = m.groups.flatMap((g) => g.partitions.map((p) => ({ a: { [DESTINATION]: g.topic, [PARTITION]: String(p.partition), [GROUP]: g.group }, p })));
  return [
    ...publishInstruments(partitions),
    ...groupCounterInstruments(groupParts),
    redrivenInstrument(m.topics),
    scalar('gauge', 'ferry.messages.in_flight', '{message}', 'Messages leased to a consumer of the group now.', groupParts.map(({ a, p }) => [a, p.inFlight])),
    scalar('gauge', 'ferry.messages.delayed', '{message}', 'Messages of the group waiting for a retry backoff or a publish delay.', groupParts.map(({ a, p }) => [a, p.delayed])),
    scalar('gauge', 'ferry.consumer.lag', '{message}', 'Messages the group has not settled (in flight, delayed, ready and not yet read).', groupParts.map(({ a, p }) => [a, p.backlog])),
    scalar('gauge', 'ferry.consumer.lag.age', 's', 'Age of the oldest message the group has not settled (0 when none).', groupParts.map(({ a, p }) => [a, p.oldestUnsettledAt === null ? 0 : Math.max(0, m.at - p.oldestUnsettledAt) / 1000])),
    scalar('gauge', 'ferry.log.size', 'By', 'Bytes of the partition log on disk.', partitions.map(({ a, p }) => [a, p.logBytes])),
    scalar('gauge', 'ferry.log.segments', '{segment}', 'Segment files of the partition log.', partitions.map(({ a, p }) => [a, p.logSegments])),
    scalar('counter', 'ferry.worker.restarts', '{restart}', 'Worker thread restarts since the engine opened.', [[{}, m.engine.workerRestarts]]),
    scalar('gauge', 'ferry.shards.failed', '{shard}', 'Shards stopped for good (restart budget spent).', [[{}, m.engine.shardsFailed]]),
    scalar('gauge', 'ferry.retention.blocked', '{partition}', 'Partitions whose last checkpoint failed, so retention deletes nothing there.', [[{}, m.engine.retentionBlocked]]),
    unavailableInstrument(m.unavailable.length),
    ...latencyInstruments(m.engine),
    histogram('ferry.fsync.duration', 'One sync of a partition log.', {}, m.engine.fsync),
  ];
}
