// Redrive on NATS: reads the dead-letter stream with its own durable consumer ('~redrive'), so
// each letter is moved once. A copy goes back to its partition of origin for the group that
// dead-lettered it (the other groups ack it unseen), or with `to` to another topic for all its
// groups; the letter is acked only after the copy's PubAck. The copy's message id is made of the
// letter's stream and sequence, so a redrive repeated after a crash stores it once (within the
// target's duplicate window).
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import { NotDeadLetterTopicError, UnknownTopicError, partitionOf, refuseUnknownOptions, type RedriveOptions } from '../../core/index.ts';
import type { Consumer as JsConsumer } from '@nats-io/jetstream';
import { asFerryError, retrying, type NatsLink } from './link.ts';
import { GENERATED_ID_PREFIX, REDRIVE_CONSUMER, streamName, subjectOf } from './mapping.ts';
import { decodePayload, encodePayload } from './payload.ts';
import type { NatsTopics } from './topics.ts';

const BATCH = 256;

export async function redriveNats(link: NatsLink, topics: NatsTopics, deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
  refuseUnknownOptions('redrive options', options, ['to', 'limit']);
  const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError(`redrive limit must be a whole number above 0 (got ${showValue(options.limit)})`);
  await topics.get(deadLetterTopic);
  if (topics.deadLetterOf(deadLetterTopic).length === 0) throw new NotDeadLetterTopicError(deadLetterTopic);
  const to = options.to;
  if (to !== undefined && !(await topics.get(to).catch(() => undefined))) throw new UnknownTopicError(to);
  const { jsm, js, lib, settings } = link;
  const stream = streamName(deadLetterTopic);
  const reader = await retrying(link, `redriving ${deadLetterTopic}`, settings.requestTimeoutMs, async () => {
    await jsm.consumers.add(stream, { durable_name: REDRIVE_CONSUMER, ack_policy: lib.AckPolicy.Explicit, ack_wait: 60_000_000_000, max_deliver: -1, deliver_policy: lib.DeliverPolicy.All });
    return js.consumers.get(stream, REDRIVE_CONSUMER);
  });
  try {
    return await moveLetters(link, topics, stream, reader, to, limit);
  } catch (error) {
    throw asFerryError(link, `redriving ${deadLetterTopic}`, error, settings.requestTimeoutMs);
  }
}

/** Moves up to `limit` letters; see the top of the file. */
async function moveLetters(link: NatsLink, topics: NatsTopics, stream: string, reader: JsConsumer, to: string | undefined, limit: number): Promise<number> {
  const { js, settings } = link;
  let moved = 0;
  while (moved < limit) {
    const pending = (await retrying(link, `redriving ${stream}`, settings.requestTimeoutMs, () => reader.info(false))).num_pending;
    if (pending === 0) break;
    const batch = await reader.fetch({ max_messages: Math.min(BATCH, pending, limit - moved), expires: 1000 });
    let got = 0;
    for await (const letter of batch) {
      got++;
      const payload = decodePayload(letter.data);
      const info = payload.deadLetter;
      const target = to ?? info?.topic;
      if (target === undefined) {
        letter.term(); // bare: nats-server 2.9 ignores a +TERM with a reason (see dead-letter.ts)
        continue;
      }
      const targetOptions = await topics.get(target);
      const partition = to === undefined ? info!.partition : payload.key !== undefined ? partitionOf(payload.key, targetOptions.partitions) : 0;
      const copy = encodePayload({ ...payload, deadLetter: undefined, onlyGroup: to === undefined ? info!.group : undefined });
      const msgID = `${GENERATED_ID_PREFIX}rd.${stream}.${letter.info.streamSequence}`;
      await retrying(link, `redriving into ${target}`, settings.requestTimeoutMs * 3, () => js.publish(subjectOf(target, partition), copy, { msgID }));
      await letter.ackAck({ timeout: settings.requestTimeoutMs });
      moved++;
    }
    if (got === 0) break;
  }
  return moved;
}
