// ferry.metricsText() on NATS: the snapshot in the Prometheus text format, with the embedded
// engine's family names and labels where a figure means the same (publishes, duplicates, the group
// counters, redrives, the latency histograms). The gauges the servers give per group are labelled
// by topic and group only (an unordered group's one durable consumer spans every partition), and
// a gauge the servers did not answer for has no sample (unknown, not 0). Families NATS has no
// figure for (delayed, log segments, worker restarts, shards, blocked retention, fsync) are not
// written. Pure: caller's thread.
import { DEST, GROUP, PART, Exposition, groupCounterFamilies, latencyHistograms, publishFamilies, redrivenFamily, renderFamilies, unavailableFamily, type Labels } from '../../core/index.ts';
import type { NatsGroupMetrics, NatsMetrics } from './types.ts';

/** One sample per group whose gauge the servers told. */
function gauge(groups: readonly NatsGroupMetrics[], pick: (g: NatsGroupMetrics) => number | null): (readonly [Labels, number])[] {
  return groups.flatMap((g) => {
    const value = pick(g);
    return value === null ? [] : [[{ [DEST]: g.topic, [GROUP]: g.group }, value] as const];
  });
}

/** Renders a NATS snapshot as Prometheus text (`Content-Type: text/plain; version=0.0.4`). */
export function natsMetricsText(m: NatsMetrics): string {
  const out = new Exposition();
  publishFamilies(out, m.topics.flatMap((t) => t.partitions.map((p) => ({ labels: { [DEST]: t.topic, [PART]: String(p.partition) }, p }))));
  groupCounterFamilies(out, m.groups.flatMap((g) => g.partitions.map((p) => ({ labels: { [DEST]: g.topic, [PART]: String(p.partition), [GROUP]: g.group }, p }))));
  redrivenFamily(out, m.topics);
  out.family('ferry.messages.in_flight', '{message}', 'gauge', 'Messages delivered to a member of the group (any process) and not acked yet, nacked ones waiting for their delay included.', gauge(m.groups, (g) => g.inFlight));
  out.family('ferry.consumer.lag', '{message}', 'gauge', 'Messages the group has not settled (delivered and not acked, and not yet delivered).', gauge(m.groups, (g) => g.lag));
  out.family('ferry.consumer.lag.age', 's', 'gauge', "Age of the first message past the group's ack floor (0 when none).", gauge(m.groups, (g) => (g.lagAgeMs === null ? null : g.lagAgeMs / 1000)));
  const streams = m.topics.flatMap((t) => (t.stream ? [{ topic: t.topic, stream: t.stream }] : []));
  out.family('ferry.stream.messages', '{message}', 'gauge', "Messages the topic's stream stores now (every process's, retention applied).", streams.map((t) => [{ [DEST]: t.topic }, t.stream.messages]));
  out.family('ferry.stream.size', 'By', 'gauge', "Bytes of the messages the topic's stream stores now.", streams.map((t) => [{ [DEST]: t.topic }, t.stream.bytes]));
  unavailableFamily(out, m.unavailable.length);
  latencyHistograms(out, m.engine);
  return renderFamilies(out.families);
}
