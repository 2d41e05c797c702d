// What ferry.alterTopic may change on an existing topic, and why the rest cannot change: the
// changes are merged over the stored options and validated as createTopic validates them.
import { InvalidArgumentError } from '../wal/index.ts';
import { TopicOptionFixedError } from './errors.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topic-options.ts';

/**
 * Options of an existing topic that `alterTopic` changes. Each given one replaces the stored one,
 * except `retention`, whose given bounds replace those stored (`{ retention: { ms } }` keeps `bytes`).
 */
export type TopicChanges = Pick<TopicOptions, 'maxDeliveries' | 'backoff' | 'ackTimeoutMs' | 'dedupWindowMs' | 'retention'>;

const CHANGEABLE = ['maxDeliveries', 'backoff', 'ackTimeoutMs', 'dedupWindowMs', 'retention'];

/** Why each option that exists but cannot change cannot, and what to do instead. */
const FIXED: Readonly<Record<'partitions' | 'deadLetter', string>> = Object.freeze({
  partitions:
    "a key's partition is its hash modulo the partition count, so another count would send a key's next messages to another partition, out of order with its earlier ones, and each partition's log, offsets and group positions are its own; create a new topic with the count you want and move producers and consumers to it",
  deadLetter:
    'letters already on their way would still go to the old dead-letter topic, and one that a crash interrupted could be stored in both; to keep letters elsewhere, redrive them from the dead-letter topic to another topic (redrive with { to })',
});

/** The options of topic `name` after `changes`; TOPIC_OPTION_FIXED for a partition count or dead-letter topic other than the stored one. */
export function resolveTopicChanges(name: string, current: ResolvedTopicOptions, changes: TopicChanges): ResolvedTopicOptions {
  if (typeof changes !== 'object' || changes === null) throw new InvalidArgumentError('alterTopic changes must be an object, e.g. { maxDeliveries: 10 }');
  const asked = changes as TopicChanges & Partial<Pick<TopicOptions, 'partitions' | 'deadLetter'>>;
  for (const option of ['partitions', 'deadLetter'] as const) {
    // The stored value again is no change: a declarative config may list every option.
    if (asked[option] !== undefined && asked[option] !== current[option]) throw new TopicOptionFixedError(name, option, FIXED[option]);
  }
  refuseUnknownOptions(`alterTopic ${name} changes`, changes, [...CHANGEABLE, 'partitions', 'deadLetter']);
  if (changes.retention !== undefined) refuseUnknownOptions('retention', changes.retention, ['ms', 'bytes']);
  const next = resolveTopicOptions(name, {
    partitions: current.partitions,
    deadLetter: current.deadLetter,
    maxDeliveries: changes.maxDeliveries ?? current.maxDeliveries,
    ackTimeoutMs: changes.ackTimeoutMs ?? current.ackTimeoutMs,
    dedupWindowMs: changes.dedupWindowMs ?? current.dedupWindowMs,
    retention: { ms: changes.retention?.ms ?? current.retention.ms, bytes: changes.retention?.bytes ?? current.retention.bytes },
    ...(changes.backoff === undefined ? {} : { backoff: changes.backoff }),
  });
  return changes.backoff === undefined ? Object.freeze({ ...next, backoff: current.backoff }) : next;
}
