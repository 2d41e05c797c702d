// The metrics snapshot in the Prometheus text exposition format (version 0.0.4), with
// OpenTelemetry names translated the standard way (the OTel → Prometheus compatibility spec):
// dots and other invalid characters become `_`, the unit is appended as a word (`s` → `seconds`,
// `By` → `bytes`; annotations such as `{message}` are dropped), and counters end in `_total`.
// Pure: runs on the caller's thread over a snapshot that is already plain data.
import type { HistogramSnapshot } from './metrics-histogram.ts';
import type { FerryMetrics } from './metrics.ts';
import type { GroupCounters } from './partition-metrics.ts';

type Kind = 'counter' | 'gauge' | 'histogram';
/** Sample labels by OpenTelemetry attribute name. */
export type Labels = Readonly<Record<string, string | number>>;

const UNIT_WORDS: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes', '1': 'ratio' };

/** The Prometheus name of an OpenTelemetry instrument: `messaging.client.sent.messages` + `{message}` counter → `messaging_client_sent_messages_total`. */
export function prometheusName(otelName: string, unit: string, kind: Kind): string {
  let name = otelName.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  const word = unit.startsWith('{') ? '' : (UNIT_WORDS[unit] ?? unit.replace(/[^a-zA-Z0-9_:]/g, '_'));
  if (word && !name.endsWith(`_${word}`)) name += `_${word}`;
  if (kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A label name as OTel's translation gives it: `messaging.destination.name` → `messaging_destination_name`. */
function labelName(attribute: string): string {
  return attribute.replace(/[^a-zA-Z0-9_]/g, '_');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Label names translated, values as strings. */
function promLabels(labels: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [labelName(k), String(v)]));
}

/** One sample of a family: its full name (a histogram's `_bucket`, `_sum`, `_count`), labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family, with Prometheus names: what the text shows and what a prom-client registry gets. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: Kind;
  readonly samples: readonly Sample[];
}

function num(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** Collects families in order (a backend with other figures builds its own list with it: backends/nats). */
export class Exposition {
  readonly families: Family[] = [];

  family(otelName: string, unit: string, kind: Kind, help: string, samples: readonly (readonly [Labels, number])[]): void {
    const name = prometheusName(otelName, unit, kind);
    this.families.push({ name, help, type: kind, samples: samples.map(([labels, value]) => ({ name, labels: promLabels(labels), value })) });
  }

  histogram(otelName: string, help: string, labels: Labels, h: HistogramSnapshot): void {
    const name = prometheusName(otelName, 's', 'histogram');
    const base = promLabels(labels);
    const samples: Sample[] = [];
    let cumulative = 0;
    h.boundsSeconds.forEach((le, i) => {
      cumulative += h.counts[i] ?? 0;
      samples.push({ name: `${name}_bucket`, labels: { ...base, le: num(le) }, value: cumulative });
    });
    samples.push({ name: `${name}_bucket`, labels: { ...base, le: '+Inf' }, value: h.count }, { name: `${name}_sum`, labels: base, value: h.sumSeconds }, { name: `${name}_count`, labels: base, value: h.count });
    this.families.push({ name, help, type: 'histogram', samples });
  }
}

/** Renders families as Prometheus text, each with its HELP and TYPE once. */
export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${s.name}${labelText(s.labels)} ${num(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The OpenTelemetry attributes Ferry labels samples with. */
export const DEST = 'messaging.destination.name';
export const PART = 'messaging.destination.partition.id';
export const GROUP = 'messaging.consumer.group.name';

/** Renders a snapshot as Prometheus text (`Content-Type: text/plain; version=0.0.4`). */
export function metricsText(m: FerryMetrics): string {
  return renderFamilies(metricFamilies(m));
}

/** Per-partition publish counters as the families of every backend: `partitions` labelled by topic and partition. */
export function publishFamilies(out: Exposition, partitions: readonly { readonly labels: Labels; readonly p: { readonly published: number; readonly duplicates: number } }[]): void {
  out.family('messaging.client.sent.messages', '{message}', 'counter', 'Messages published and stored, per partition (since the partition opened).', partitions.map(({ labels, p }) => [labels, p.published]));
  out.family('ferry.messages.duplicates', '{message}', 'counter', 'Published messages dropped as duplicates (a retried batch, a repeated message id).', partitions.map(({ labels, p }) => [labels, p.duplicates]));
}

/** A group's counters on one partition as the families of every backend (labelled by topic, partition, group). */
export function groupCounterFamilies(out: Exposition, groupParts: readonly { readonly labels: Labels; readonly p: Readonly<GroupCounters> }[]): void {
  out.family('messaging.client.consumed.messages', '{message}', 'counter', 'Messages delivered to a consumer group (leases handed out, redeliveries included).', groupParts.map(({ labels, p }) => [labels, p.delivered]));
  out.family('ferry.messages.acked', '{message}', 'counter', 'Messages acknowledged by a group.', groupParts.map(({ labels, p }) => [labels, p.acked]));
  out.family('ferry.messages.nacked', '{message}', 'counter', 'Messages nacked by a group.', groupParts.map(({ labels, p }) => [labels, p.nacked]));
  out.family(
    'ferry.messages.redelivered',
    '{message}',
    'counter',
    'Failed attempts scheduled for redelivery, by what ended the attempt (error.type: nack or lease_expired).',
    groupParts.flatMap(({ labels, p }) => [
      [{ ...labels, 'error.type': 'nack' }, p.redeliveredAfterNack],
      [{ ...labels, 'error.type': 'lease_expired' }, p.redeliveredAfterLeaseExpiry],
    ]),
  );
  out.family('ferry.leases.expired', '{lease}', 'counter', 'Leases that ran out while a handler held the message.', groupParts.map(({ labels, p }) => [labels, p.leasesExpired]));
  out.family('ferry.messages.dead_lettered', '{message}', 'counter', 'Messages a group moved to the dead-letter topic.', groupParts.map(({ labels, p }) => [labels, p.deadLettered]));
}

/** The redrive counter, per dead-letter topic that had any. */
export function redrivenFamily(out: Exposition, topics: readonly { readonly topic: string; readonly redriven: number }[]): void {
  out.family('ferry.messages.redriven', '{message}', 'counter', 'Dead letters moved back out of a dead-letter topic by redrive.', topics.filter((t) => t.redriven > 0).map((t) => [{ [DEST]: t.topic }, t.redriven]));
}

/** The latency histograms every backend measures: confirm, handler, publish to first delivery. */
export function latencyHistograms(out: Exposition, h: { readonly confirm: HistogramSnapshot; readonly handler: HistogramSnapshot; readonly deliver: HistogramSnapshot }): void {
  out.histogram('messaging.client.operation.duration', 'Publish received by the partition until durable (confirm).', { 'messaging.operation.name': 'send' }, h.confirm);
  out.histogram('messaging.process.duration', 'Handler took the message until its ack or nack.', { 'messaging.operation.name': 'process' }, h.handler);
  out.histogram('ferry.publish_to_deliver.duration', 'Publish until the first delivery of a message to a group.', {}, h.deliver);
}

/** The snapshot as metric families with Prometheus names (the same every time, whatever the figures). */
export function metricFamilies(m: FerryMetrics): Family[] {
  const out = new Exposition();
  const partitions = m.topics.flatMap((t) => t.partitions.map((p) => ({ labels: { [DEST]: t.topic, [PART]: String(p.partition) }, p })));
  const groupParts = m.groups.flatMap((g) => g.partitions.map((p) => ({ labels: { [DEST]: g.topic, [PART]: String(p.partition), [GROUP]: g.group }, p })));
  publishFamilies(out, partitions);
  groupCounterFamilies(out, groupParts);
  redrivenFamily(out, m.topics);
  out.family('ferry.messages.in_flight', '{message}', 'gauge', 'Messages leased to a consumer of the group now.', groupParts.map(({ labels, p }) => [labels, p.inFlight]));
  out.family('ferry.messages.delayed', '{message}', 'gauge', 'Messages of the group waiting for a retry backoff or a publish delay.', groupParts.map(({ labels, p }) => [labels, p.delayed]));
  out.family('ferry.consumer.lag', '{message}', 'gauge', 'Messages the group has not settled (in flight, delayed, ready and not yet read).', groupParts.map(({ labels, p }) => [labels, p.backlog]));
  out.family('ferry.consumer.lag.age', 's', 'gauge', 'Age of the oldest message the group has not settled (0 when none).', groupParts.map(({ labels, p }) => [labels, p.oldestUnsettledAt === null ? 0 : Math.max(0, m.at - p.oldestUnsettledAt) / 1000]));
  out.family('ferry.log.size', 'By', 'gauge', 'Bytes of the partition log on disk.', partitions.map(({ labels, p }) => [labels, p.logBytes]));
  out.family('ferry.log.segments', '{segment}', 'gauge', 'Segment files of the partition log.', partitions.map(({ labels, p }) => [labels, p.logSegments]));
  out.family('ferry.worker.restarts', '{restart}', 'counter', 'Worker thread restarts since the engine opened.', [[{}, m.engine.workerRestarts]]);
  out.family('ferry.shards.failed', '{shard}', 'gauge', 'Shards stopped for good (restart budget spent).', [[{}, m.engine.shardsFailed]]);
  out.family('ferry.retention.blocked', '{partition}', 'gauge', 'Partitions whose last checkpoint failed, so retention deletes nothing there.', [[{}, m.engine.retentionBlocked]]);
  unavailableFamily(out, m.unavailable.length);
  latencyHistograms(out, m.engine);
  out.histogram('ferry.fsync.duration', 'One sync of a partition log.', {}, m.engine.fsync);
  return out.families;
}

/** How many partitions did not answer the scrape. */
export function unavailableFamily(out: Exposition, count: number): void {
  out.family('ferry.partitions.unavailable', '{partition}', 'gauge', 'Partitions that did not answer this scrape.', [[{}, count]]);
}
