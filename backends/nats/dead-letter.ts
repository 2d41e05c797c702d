// Dead-lettering on NATS, done by Ferry (JetStream at MaxDeliver would keep the message and only
// emit an advisory): the letter is published to the dead-letter topic's stream with a message id
// made of the origin stream, sequence and group, then the original is terminated (TERM). A crash
// between the two redelivers the original; its second letter carries the same id and is dropped by
// the dead-letter stream's dedupe: one letter, if the redelivery comes within that stream's
// duplicate window (its dedupWindowMs).
import { partitionOf, type DeadLetterInfo } from '../../core/index.ts';
import type { JetStreamDelivery } from './delivery.ts';
import { BackendUnavailableError } from './errors.ts';
import { retrying, withDeadline, type NatsLink } from './link.ts';
import { GENERATED_ID_PREFIX, streamName, subjectOf } from './mapping.ts';
import { encodePayload } from './payload.ts';
import type { NatsTopics } from './topics.ts';

/** The message id of the letter of `offset` in `topic` for `group`: the same on every try. */
export function letterId(topic: string, offset: number, group: string): string {
  return `${GENERATED_ID_PREFIX}dl.${streamName(topic)}.${offset}.${group}`;
}

/** Publishes the letter of `d` (waiting for its PubAck), then terminates `d` in its stream. */
export async function deadLetter(link: NatsLink, topics: NatsTopics, group: string, d: JetStreamDelivery, attempts: number, lastError: string | null): Promise<void> {
  const target = d.options.deadLetter;
  if (target !== false) {
    const targetOptions = await topics.get(target);
    const info: DeadLetterInfo = {
      topic: d.topic,
      partition: d.partition,
      offset: d.offset,
      group,
      attempts,
      // JetStream does not keep when a message was first delivered: the last delivery's time stands in.
      firstDeliveredAt: d.deliveredAt,
      lastDeliveredAt: d.deliveredAt,
      lastError,
    };
    const payload = encodePayload({ ...d.payload, deadLetter: info, onlyGroup: undefined });
    const partition = d.key === undefined ? 0 : partitionOf(d.key, targetOptions.partitions);
    await retrying(link, `dead-lettering into ${target}`, link.settings.requestTimeoutMs * 3, () =>
      link.js.publish(subjectOf(target, partition), payload, { msgID: letterId(d.topic, d.offset, group), timeout: link.settings.requestTimeoutMs }),
    );
  }
  // A bare +TERM: nats-server 2.9 takes only that exact token and ignores "+TERM <reason>" (2.10's
  // form) without a word, so the message stayed pending, came back after every AckWait and held
  // the group's ack floor (and lag) for ever.
  d.msg.term();
  // Bounded, as every request: with the servers gone a flush waits for ever. A retry is safe (the
  // letter's id is the same, and the dead-letter stream drops the repeat).
  const ms = link.settings.requestTimeoutMs;
  await withDeadline(link.nc.flush(), ms, () => new BackendUnavailableError(`dead-lettering ${d.topic}@${d.offset} (TERM)`, link.settings.servers, ms));
}
