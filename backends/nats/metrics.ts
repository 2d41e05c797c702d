// ferry.metrics() on NATS (caller's thread): this instance's own counts (metrics-recorder.ts) and,
// per topic, what the servers know of the stream and of every group's durable consumers, for all
// processes: stored messages and bytes, and per group the messages delivered and not acked
// (num_ack_pending), not yet delivered (num_pending) and the age of the first one past the ack
// floor. Two requests per topic, plus one per lagging durable consumer for the age, sent together;
// a topic that does not answer is listed in `unavailable` and its groups' gauges are null (unknown,
// never a made-up 0). What NATS cannot tell is not in the snapshot: see docs/NATS.md § Metrics.
import type { ConsumerInfo } from '@nats-io/jetstream';
import { FerryError } from '../../wal/index.ts';
import type { AlertInput, GroupCounters, UnavailablePartition } from '../../core/index.ts';
import type { NatsLink } from './link.ts';
import { groupOfDescription, streamName, streamSubjects } from './mapping.ts';
import type { NatsRecorder } from './metrics-recorder.ts';
import type { NatsTopics } from './topics.ts';
import type { NatsGroupMetrics, NatsMetrics, NatsTopicMetrics } from './types.ts';

interface GroupGauges {
  inFlight: number;
  unread: number;
  oldestAt: number | null;
}

/** The servers' view of one topic: its stream, and the gauges of each Ferry group on it. */
async function askServers(link: NatsLink, topic: string): Promise<{ stream: NonNullable<NatsTopicMetrics['stream']>; groups: Map<string, GroupGauges> }> {
  const { jsm } = link;
  const name = streamName(topic);
  const [info, consumers] = await Promise.all([
    jsm.streams.info(name),
    (async () => {
      const all: ConsumerInfo[] = [];
      for await (const c of jsm.consumers.list(name)) all.push(c);
      return all;
    })(),
  ]);
  const groups = new Map<string, GroupGauges>();
  await Promise.all(
    consumers.map(async (c) => {
      const group = groupOfDescription(c.config.description);
      if (group === undefined) return; // redrive's reader, or not Ferry's
      let g = groups.get(group);
      if (!g) groups.set(group, (g = { inFlight: 0, unread: 0, oldestAt: null }));
      g.inFlight += c.num_ack_pending;
      g.unread += c.num_pending;
      if (c.num_ack_pending + c.num_pending === 0) return;
      // The first message past the ack floor is the oldest the group has not settled.
      const first = await jsm.streams.getMessage(name, { seq: c.ack_floor.stream_seq + 1, next_by_subj: c.config.filter_subject ?? streamSubjects(topic)[0]! } as unknown as { seq: number });
      if (first) g.oldestAt = Math.min(g.oldestAt ?? Number.POSITIVE_INFINITY, first.time.getTime());
    }),
  );
  return { stream: { messages: info.state.messages, bytes: info.state.bytes, firstSequence: info.state.first_seq, lastSequence: info.state.last_seq }, groups };
}

const sum = <T>(items: readonly T[], pick: (t: T) => number): number => items.reduce((n, t) => n + pick(t), 0);
const COUNTERS = ['delivered', 'acked', 'nacked', 'redeliveredAfterNack', 'redeliveredAfterLeaseExpiry', 'leasesExpired', 'deadLettered'] as const;

/** Takes the snapshot (see the top of the file). */
export async function collectNatsMetrics(link: NatsLink, topics: NatsTopics, recorder: NatsRecorder): Promise<NatsMetrics> {
  const known = topics.list();
  const answers = await Promise.all(
    known.map(({ name }) =>
      askServers(link, name).then(
        (got) => ({ ok: true as const, ...got }),
        (error: unknown) => ({ ok: false as const, code: error instanceof FerryError ? error.code : 'BACKEND_UNAVAILABLE', message: error instanceof Error ? error.message : String(error) }),
      ),
    ),
  );
  const at = Date.now();
  const unavailable: UnavailablePartition[] = [];
  const servers = new Map<string, Map<string, GroupGauges> | undefined>();
  const topicMetrics = known.map(({ name, options }, i): NatsTopicMetrics => {
    const answer = answers[i]!;
    if (!answer.ok) for (let partition = 0; partition < options.partitions; partition++) unavailable.push({ topic: name, partition, code: answer.code, message: answer.message });
    servers.set(name, answer.ok ? answer.groups : undefined);
    const partitions = recorder.publishesOf(name);
    return { topic: name, partitions, published: sum(partitions, (p) => p.published), duplicates: sum(partitions, (p) => p.duplicates), redriven: recorder.redrivenOf(name), stream: answer.ok ? answer.stream : null };
  });
  // Groups this instance counted for, and groups only the servers know (other processes' work).
  const counted = new Map(recorder.groups().map((g) => [`${g.group}\u0000${g.topic}`, g]));
  for (const [topic, groups] of servers) for (const group of groups?.keys() ?? []) if (!counted.has(`${group}\u0000${topic}`)) counted.set(`${group}\u0000${topic}`, { group, topic, partitions: [] });
  const groups = [...counted.values()].map(({ group, topic, partitions }): NatsGroupMetrics => {
    const counters = Object.fromEntries(COUNTERS.map((name) => [name, sum(partitions, (p) => p[name])])) as unknown as GroupCounters;
    const topicGroups = servers.get(topic);
    const g = topicGroups?.get(group) ?? (topicGroups ? { inFlight: 0, unread: 0, oldestAt: null } : undefined);
    const gauges = g
      ? { inFlight: g.inFlight, unread: g.unread, lag: g.inFlight + g.unread, lagAgeMs: g.inFlight + g.unread === 0 ? 0 : g.oldestAt === null ? null : Math.max(0, at - g.oldestAt) }
      : { inFlight: null, unread: null, lag: null, lagAgeMs: null };
    return { group, topic, partitions, ...counters, ...gauges };
  });
  return { backend: 'nats', at, topics: topicMetrics, groups, engine: { confirm: recorder.confirm.snapshot(), deliver: recorder.deliver.snapshot(), handler: recorder.handler.snapshot() }, unavailable };
}

/**
 * What the alert poll reads on NATS: the events this instance raised, and the groups whose lag the
 * servers told (a group they did not answer for is left out of this poll, not taken as lag 0; a
 * lag of unknown age raises no age alert).
 */
export async function natsAlertInput(link: NatsLink, topics: NatsTopics, recorder: NatsRecorder): Promise<AlertInput> {
  const m = await collectNatsMetrics(link, topics, recorder);
  const taken = recorder.takeEvents();
  const groups = m.groups.flatMap((g) => (g.lag === null ? [] : [{ ...g, lag: g.lag, lagAgeMs: g.lagAgeMs ?? 0 }]));
  return { metrics: { topics: [], groups, unavailable: m.unavailable }, events: taken.events, eventsDropped: taken.dropped, shards: [] };
}
