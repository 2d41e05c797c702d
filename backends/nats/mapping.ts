// How Ferry's names map onto JetStream's (see docs/NATS.md):
//   topic t            -> stream  ferry_<t>  (a '.' in t written '~': stream names cannot hold '.')
//   partition p of t   -> subject ferry.<t>.<p>   (the stream's subjects: ferry.<t>.*)
//   group g, 'none'    -> durable pull consumer <g> on the whole stream
//   group g, 'key' / 'partition' -> one durable pull consumer <g>~p<p> per partition, max_ack_pending 1
// Ferry names allow only [A-Za-z0-9._-], so '~' never occurs in them and the mapping is one-to-one.
import type { ResolvedTopicOptions } from '../../core/index.ts';
import type { Ordering } from '../../core/index.ts';

const STREAM_PREFIX = 'ferry_';
const SUBJECT_ROOT = 'ferry';
/** Message ids Ferry generates (idempotent retries, letters, redrives) begin with this; users' may not. */
export const GENERATED_ID_PREFIX = 'ferry~';
/** The consumer redrive reads a dead-letter stream with. */
export const REDRIVE_CONSUMER = '~redrive';

export function streamName(topic: string): string {
  return STREAM_PREFIX + topic.replaceAll('.', '~');
}

export function topicOfStream(stream: string): string | undefined {
  return stream.startsWith(STREAM_PREFIX) ? stream.slice(STREAM_PREFIX.length).replaceAll('~', '.') : undefined;
}

export function subjectOf(topic: string, partition: number): string {
  return `${SUBJECT_ROOT}.${topic}.${partition}`;
}

export function streamSubjects(topic: string): string[] {
  return [`${SUBJECT_ROOT}.${topic}.*`];
}

/** The partition a subject of a Ferry stream names (its last token). */
export function partitionOfSubject(subject: string): number {
  return Number(subject.slice(subject.lastIndexOf('.') + 1));
}

/** The durable consumers of a group on a topic: one, or one per partition for ordered groups. */
export function consumerNames(group: string, ordering: Ordering, partitions: number): { name: string; partition: number | undefined }[] {
  const base = group.replaceAll('.', '~');
  if (ordering === 'none') return [{ name: base, partition: undefined }];
  return Array.from({ length: partitions }, (_, p) => ({ name: `${base}~p${p}`, partition: p }));
}

/** Whether a consumer name belongs to `group` (either shape). */
export function isConsumerOf(name: string, group: string): boolean {
  const base = group.replaceAll('.', '~');
  return name === base || (name.startsWith(`${base}~p`) && /^\d+$/.test(name.slice(base.length + 2)));
}

/** What a consumer's description records, so every process sees the group's ordering. */
export function groupDescription(group: string, ordering: Ordering): string {
  return JSON.stringify({ ferryGroup: group, ordering });
}

export function orderingOfDescription(description: string | undefined): Ordering | undefined {
  return parseGroupDescription(description)?.ordering;
}

/** The group a consumer's description names, if Ferry made it. */
export function groupOfDescription(description: string | undefined): string | undefined {
  return parseGroupDescription(description)?.ferryGroup;
}

function parseGroupDescription(description: string | undefined): { ferryGroup?: string; ordering?: Ordering } | undefined {
  try {
    return JSON.parse(description ?? '') as { ferryGroup?: string; ordering?: Ordering };
  } catch {
    return undefined;
  }
}

/** A stream's description keeps the topic's Ferry options, so every process reads the same ones. */
export function topicDescription(options: ResolvedTopicOptions): string {
  return JSON.stringify({ ferryTopic: 1, options });
}

export function optionsOfDescription(description: string | undefined): ResolvedTopicOptions | undefined {
  try {
    const parsed = JSON.parse(description ?? '') as { ferryTopic?: number; options?: ResolvedTopicOptions };
    return parsed.ferryTopic === 1 ? parsed.options : undefined;
  } catch {
    return undefined;
  }
}
