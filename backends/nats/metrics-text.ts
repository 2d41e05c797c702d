// ferry.metricsText() on NATS: the snapshot in the Prometheus text format, with the embedded
// engine's family names and labels where a figure means the same (publishes, duplicates, the group
// counters, redrives, the latency histograms). The gauges the servers give per group are labelled
// by topic and group only (an unordered group's one durable consumer spans every partition), and
// a gauge the servers did not answer for has no sample (unknown, not 0). Families NATS has no
// figure for (delayed, log segments, worker restarts, shards, blocked retention, fsync) are not
// written. Pure: caller's thread.
import { DESTINATION, GROUP, PARTITION, gaugeInstrument, groupCounterInstruments, instrumentsText, latencyInstruments, publishInstruments, redrivenInstrument, unavailableInstrument, type Attributes } from '../../core/index.ts';
import type { NatsGroupMetrics, NatsMetrics } from './types.ts';

/** One point per group whose gauge the servers told. */
function gauge(groups: readonly NatsGroupMetrics[], pick: (g: NatsGroupMetrics) => number | null): (readonly [Attributes, number])[] {
  return groups.flatMap((g) => {
    const value = pick(g);
    return value === null ? [] : [[{ [DESTINATION]: g.topic, [GROUP]: g.group }, value] as const];
  });
}

/** Renders a NATS snapshot as Prometheus text (`Content-Type: text/plain; version=0.0.4`). */
export function natsMetricsText(m: NatsMetrics): string {
  const streams = m.topics.flatMap((t) => (t.stream ? [{ topic: t.topic, stream: t.stream }] : []));
  return instrumentsText([
    ...publishInstruments(m.topics.flatMap((t) => t.partitions.map((p) => ({ a: { [DESTINATION]: t.topic, [PARTITION]: String(p.partition) }, p })))),
    ...groupCounterInstruments(m.groups.flatMap((g) => g.partitions.map((p) => ({ a: { [DESTINATION]: g.topic, [PARTITION]: String(p.partition), [GROUP]: g.group }, p })))),
    redrivenInstrument(m.topics),
    gaugeInstrument('ferry.messages.in_flight', '{message}', 'Messages delivered to a member of the group (any process) and not acked yet, nacked ones waiting for their delay included.', gauge(m.groups, (g) => g.inFlight)),
    gaugeInstrument('ferry.consumer.lag', '{message}', 'Messages the group has not settled (delivered and not acked, and not yet delivered).', gauge(m.groups, (g) => g.lag)),
    gaugeInstrument('ferry.consumer.lag.age', 's', "Age of the first message past the group's ack floor (0 when none).", gauge(m.groups, (g) => (g.lagAgeMs === null ? null : g.lagAgeMs / 1000))),
    gaugeInstrument('ferry.stream.messages', '{message}', "Messages the topic's stream stores now (every process's, retention applied).", streams.map((t) => [{ [DESTINATION]: t.topic }, t.stream.messages])),
    gaugeInstrument('ferry.stream.size', 'By', "Bytes of the messages the topic's stream stores now.", streams.map((t) => [{ [DESTINATION]: t.topic }, t.stream.bytes])),
    unavailableInstrument(m.unavailable.length),
    ...latencyInstruments(m.engine),
  ]);
}
