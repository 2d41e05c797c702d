// Consumer groups on NATS: a group is one durable pull consumer per topic (ordering 'none'), or one
// per partition with max_ack_pending 1 ('key' and 'partition'): the server then hands out at most
// one unacked message per partition to the whole group, across every process, and a NAKed message
// stays pending, so nothing of its partition overtakes its retry. Each consumer's description
// records the group's ordering, so a process asking for another is refused (GROUP_CONFLICT).
// Every group's consumers have the topic's ackTimeoutMs as AckWait: alterTopic changes it on all
// of them, and a join puts right one that a crash in the middle of an alterTopic left behind.
import type { Consumer as JsConsumer } from '@nats-io/jetstream';
import { GroupConflictError, type Ordering, type ResolvedTopicOptions } from '../../core/index.ts';
import { retrying, type NatsLink } from './link.ts';
import { consumerNames, groupDescription, groupOfDescription, isConsumerOf, orderingOfDescription, streamName, subjectOf } from './mapping.ts';
import { ackWaitNs } from './stream-config.ts';

/** Unacked messages the server hands out to a whole unordered group (all its processes) before it waits for acks. */
export const GROUP_MAX_ACK_PENDING = 20_000;

/** One durable consumer of a group, ready to pull from. */
export interface GroupMember {
  readonly topic: string;
  readonly partition: number | undefined;
  readonly handle: JsConsumer;
}

/** Creates (or finds) the group's durable consumers on `topic`; GROUP_CONFLICT if it exists with another ordering. */
export async function joinGroup(link: NatsLink, topic: string, options: ResolvedTopicOptions, group: string, ordering: Ordering): Promise<GroupMember[]> {
  const { jsm, js, lib, settings } = link;
  const stream = streamName(topic);
  return retrying(link, `joining group ${group} on ${topic}`, settings.requestTimeoutMs * 2, async () => {
    const existing = new Map<string, { ordering: Ordering | undefined; ackWaitNs: number }>();
    for await (const info of jsm.consumers.list(stream)) {
      if (isConsumerOf(info.name, group)) existing.set(info.name, { ordering: orderingOfDescription(info.config.description), ackWaitNs: info.config.ack_wait ?? 0 });
    }
    for (const found of existing.values()) if (found.ordering !== ordering) throw new GroupConflictError(group, String(found.ordering), ordering);
    const members: GroupMember[] = [];
    for (const { name, partition } of consumerNames(group, ordering, options.partitions)) {
      const found = existing.get(name);
      if (found !== undefined && found.ackWaitNs !== ackWaitNs(options)) await jsm.consumers.update(stream, name, { ack_wait: ackWaitNs(options) });
      if (!found) {
        await jsm.consumers.add(stream, {
          durable_name: name,
          description: groupDescription(group, ordering),
          ack_policy: lib.AckPolicy.Explicit,
          ack_wait: ackWaitNs(options),
          // Ferry counts attempts itself and dead-letters (JetStream would keep the message and
          // only emit an advisory), so the server never stops redelivering.
          max_deliver: -1,
          max_ack_pending: partition === undefined ? GROUP_MAX_ACK_PENDING : 1,
          deliver_policy: lib.DeliverPolicy.All,
          replay_policy: lib.ReplayPolicy.Instant,
          ...(partition === undefined ? {} : { filter_subject: subjectOf(topic, partition) }),
        });
      }
      members.push({ topic, partition, handle: await js.consumers.get(stream, name) });
    }
    return members;
  });
}

/** Deletes every durable consumer of `group` on `topic`; true if there was one. */
export async function deleteGroupOn(link: NatsLink, topic: string, group: string): Promise<boolean> {
  const { jsm, settings } = link;
  const stream = streamName(topic);
  return retrying(link, `deleting group ${group} on ${topic}`, settings.requestTimeoutMs, async () => {
    const names: string[] = [];
    for await (const info of jsm.consumers.list(stream)) if (isConsumerOf(info.name, group)) names.push(info.name);
    for (const name of names) await jsm.consumers.delete(stream, name);
    return names.length > 0;
  });
}

/**
 * Gives every group's durable consumers on `topic` the AckWait of `options` (alterTopic, after the
 * stream has the new options). Sent to each whose AckWait differs, so a retry after a failure
 * reaches those the first try missed. Resolves with the number changed.
 */
export async function alignGroups(link: NatsLink, topic: string, options: ResolvedTopicOptions): Promise<number> {
  const { jsm, settings } = link;
  const stream = streamName(topic);
  return retrying(link, `changing the groups of ${topic}`, settings.requestTimeoutMs * 2, async () => {
    const stale: string[] = [];
    for await (const info of jsm.consumers.list(stream)) {
      if (groupOfDescription(info.config.description) !== undefined && info.config.ack_wait !== ackWaitNs(options)) stale.push(info.name);
    }
    for (const name of stale) await jsm.consumers.update(stream, name, { ack_wait: ackWaitNs(options) });
    return stale.length;
  });
}
