// Admin and browsing on the engine (runs on the caller's thread): reading messages without a
// consumer group (dead-letter topics included), one message's history, resetting a group's
// position, and describing topics and groups. Each is partition commands of the one protocol,
// sent together, each with its deadline.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { decodeBody, decodeMeta } from './codec.ts';
import { readDeadLetterInfo, type DeadLetterInfo } from './dead-letter.ts';
import { UnknownGroupError } from './errors.ts';
import { checkGroupPosition, type GroupPosition } from './group-position.ts';
import { MAX_READ_MESSAGES, type MessageHistory, type Position } from './partition-inspect.ts';
import type { PartitionRuntime } from './runtime.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export type { GroupPosition } from './group-position.ts';
export type { HistoryGroupState, HistoryStep, MessageHistory } from './partition-inspect.ts';

/** What admin needs of the engine. */
export interface AdminHost {
  readonly runtime: PartitionRuntime;
  readonly topic: (name: string) => ResolvedTopicOptions;
}

/** Options of `ferry.read()`. */
export interface ReadOptions {
  /** One partition (default: every partition of the topic, merged by publish time). */
  readonly partition?: number;
  /** An offset (with `partition`) or `{ time }`: the first message published at or after it. Default: the oldest. */
  readonly from?: Position;
  /** Messages returned at most, 1 to 1000. Default 100. */
  readonly limit?: number;
}

/** A stored message, read without a group: nothing is leased, acked or charged. */
export interface StoredMessageView<V = unknown> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly publishedAt: number;
  readonly value: V;
  readonly key: string | undefined;
  readonly id: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** On a dead-letter topic: where the letter came from, its attempts and last error. */
  readonly deadLetter: DeadLetterInfo | undefined;
}

function checkPartition(topic: string, options: ResolvedTopicOptions, partition: unknown): number {
  if (!Number.isSafeInteger(partition) || (partition as number) < 0 || (partition as number) >= options.partitions) {
    throw new InvalidArgumentError(`partition must be a whole number from 0 to ${options.partitions - 1} for topic ${JSON.stringify(topic)} (got ${showValue(partition)})`);
  }
  return partition as number;
}

/** Reads stored messages of a topic without a consumer group. */
export async function readTopic<V>(host: AdminHost, topic: string, options: ReadOptions = {}): Promise<StoredMessageView<V>[]> {
  refuseUnknownOptions('read options', options, ['partition', 'from', 'limit']);
  const resolved = host.topic(topic);
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_READ_MESSAGES) throw new InvalidArgumentError(`read options.limit must be a whole number from 1 to ${MAX_READ_MESSAGES} (got ${showValue(options.limit)})`);
  const from = options.from ?? 0;
  if (typeof from === 'number' && options.partition === undefined && from !== 0) throw new InvalidArgumentError('read options.from as an offset needs options.partition (offsets are per partition); use { time } across partitions');
  const partitions = options.partition === undefined ? Array.from({ length: resolved.partitions }, (_, p) => p) : [checkPartition(topic, resolved, options.partition)];
  const replies = await Promise.all(partitions.map((partition) => host.runtime.call({ op: 'read', topic, partition, from, limit }).then((r) => ({ partition, r }))));
  const all = replies.flatMap(({ partition, r }) =>
    r.messages.map((m): StoredMessageView<V> => {
      const meta = decodeMeta(m.record);
      const body = decodeBody(m.record);
      return { topic, partition, offset: m.offset, publishedAt: m.publishedAt, value: body.value as V, key: meta.key, id: meta.id, headers: body.headers, deadLetter: readDeadLetterInfo(body.headers) };
    }),
  );
  all.sort((a, b) => a.publishedAt - b.publishedAt || a.partition - b.partition || a.offset - b.offset);
  return all.slice(0, limit);
}

/** One message's history on its partition. */
export function inspectMessage(host: AdminHost, topic: string, partition: number, offset: number): Promise<MessageHistory> {
  const resolved = host.topic(topic);
  checkPartition(topic, resolved, partition);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`offset must be a whole number from 0 (got ${showValue(offset)})`);
  return host.runtime.call({ op: 'history', topic, partition, offset });
}

/** What a reset did on one partition: the group's oldest unsettled offset before, and its new cursor. */
export interface ResetResult {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** Options of `ferry.resetGroup()`. */
export interface ResetGroupOptions {
  readonly to: GroupPosition;
}

/** Moves a group's position on every partition of a topic (the caller checked it has no members). */
export async function resetGroupPosition(host: AdminHost, group: string, topic: string, options: ResetGroupOptions): Promise<ResetResult[]> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError("resetGroup needs { to: 'earliest' | 'latest' | { offset } | { time } }");
  refuseUnknownOptions('resetGroup options', options, ['to']);
  checkGroupPosition('resetGroup options.to', options.to);
  const { partitions } = host.topic(topic); // an { offset } applies to every partition (clamped to each log)
  const replies = await Promise.all(Array.from({ length: partitions }, (_, partition) => host.runtime.call({ op: 'resetGroup', topic, partition, group, to: options.to }).then((r) => (r ? { partition, ...r } : undefined))));
  const done = replies.filter((r): r is ResetResult => r !== undefined);
  if (done.length === 0) throw new UnknownGroupError(group, topic);
  return done;
}
