// Redrive: dead letters go back, each once. A letter returns to its partition of origin for the
// group that dead-lettered it only (other groups of the topic had handled the message), keeping
// its value, key, headers and original id; or, with `to`, to another topic for all its groups.
// Exactly once within the target's dedupe window: the copy is known to the window by a key made
// from the letter's place, and the letter is acked only once the copy is durable. Caller's thread.
import { FerryError, InvalidArgumentError, type Random, showValue } from '../wal/index.ts';
import { decodeBodyIn, decodeMetaIn, encodeMessage, frameMessages } from './codec.ts';
import { originalHeaders, originalId, readDeadLetterInfo } from './dead-letter.ts';
import { NotDeadLetterTopicError } from './errors.ts';
import { partitionOf } from './hash.ts';
import { checkName } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { DeliveredMessage, LeaseToken } from './partition-api.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** Options of `redrive`. */
export interface RedriveOptions {
  /** Topic to move the dead letters to (all its groups get them). Default: each letter's topic and group of origin. */
  readonly to?: string;
  /** Most letters to move, a whole number. Default: all that are there now. */
  readonly limit?: number;
}

/** What a redrive needs from the engine. */
export interface RedriveHost {
  readonly runtime: PartitionRuntime;
  readonly random: Random;
  readonly maxMessageBytes: number;
  /** The topic's options, or UNKNOWN_TOPIC. */
  topic(name: string): ResolvedTopicOptions;
  /** Whether `name` exists (no error). */
  exists(name: string): boolean;
  /** Topics whose dead-letter topic is `name`. */
  deadLetterOf(name: string): string[];
}

/** Header of a redriven copy: the dead letter it was made from (`<dead-letter topic>/<partition>/<offset>`). */
export const REDRIVEN_FROM_HEADER = 'ferry-redriven-from';

/** The internal group through which redrives read a dead-letter topic. */
export const REDRIVE_GROUP = 'ferry.redrive';

/** Moves dead letters back (see the top of the file); resolves with how many were moved. */
export async function redrive(host: RedriveHost, deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
  refuseUnknownOptions('redrive options', options, ['to', 'limit']);
  const { partitions } = host.topic(deadLetterTopic);
  if (host.deadLetterOf(deadLetterTopic).length === 0) throw new NotDeadLetterTopicError(deadLetterTopic);
  if (options.to !== undefined) host.topic(checkName('topic', options.to));
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 0)) throw new InvalidArgumentError(`redrive limit must be a whole number, 0 or more (got ${showValue(options.limit)})`);
  const consumerId = `${REDRIVE_GROUP}/${host.random.int(2 ** 31).toString(36)}`;
  const settle = async (partition: number, item: { kind: 'ack'; offset: number; token: LeaseToken } | { kind: 'release'; consumerId: string }) => {
    const [refused] = await host.runtime.call({ op: 'settle', topic: deadLetterTopic, partition, group: REDRIVE_GROUP, items: [item] });
    if (refused) throw FerryError.fromWire(refused);
  };
  let moved = 0;
  for (let p = 0; p < partitions && moved < limit; p++) {
    await host.runtime.call({ op: 'ensureGroup', topic: deadLetterTopic, partition: p, group: REDRIVE_GROUP, ordering: 'none' });
    try {
      for (;;) {
        const batch = await host.runtime.call({ op: 'fetch', topic: deadLetterTopic, partition: p, request: { group: REDRIVE_GROUP, consumerId, max: Math.min(256, limit - moved), waitMs: 0 } });
        if (batch.length === 0) break;
        for (const m of batch) {
          if (moved >= limit) break;
          if (!(await moveOne(host, deadLetterTopic, p, m, options.to))) continue; // left for a later redrive (with `to`)
          await settle(p, { kind: 'ack', offset: m.offset, token: m.token });
          moved++;
        }
        if (moved >= limit) break;
      }
    } finally {
      // Letters fetched but not moved go back without charging an attempt.
      await settle(p, { kind: 'release', consumerId }).catch(() => {});
    }
  }
  return moved;
}

/** Publishes the copy of one letter; false if it has nowhere to go. Resolves once the copy is durable. */
async function moveOne(host: RedriveHost, deadLetterTopic: string, p: number, m: DeliveredMessage, to: string | undefined): Promise<boolean> {
  let body: ReturnType<typeof decodeBodyIn>;
  try {
    body = decodeBodyIn(m.bytes, m.start, m.end);
  } catch {
    return false; // an undecodable letter stays for whoever investigates it
  }
  const meta = decodeMetaIn(m.bytes, m.start, m.end);
  const info = readDeadLetterInfo(body.headers);
  const target = to ?? info?.topic;
  if (target === undefined || !host.exists(target)) return false;
  const id = originalId(body.headers);
  // The copy says where it came from (as a broker's redelivery header would); the rest is the original's.
  const headers = { ...originalHeaders(body.headers), [REDRIVEN_FROM_HEADER]: `${deadLetterTopic}/${p}/${m.offset}` };
  const dedupeKey = `ferry-redrive/${deadLetterTopic}/${p}/${m.offset}`;
  const message = { value: body.value, ...(meta.key === undefined ? {} : { key: meta.key }), headers, ...(id === undefined ? {} : { id }) };
  const { partitions } = host.topic(target);
  const back = to === undefined && info !== undefined && info.partition < partitions;
  const record = encodeMessage(message, 0, host.maxMessageBytes, undefined, back ? { onlyGroup: info.group, dedupeKey } : { dedupeKey });
  const partition = back ? info.partition : partitionOf(meta.key ?? (id === undefined ? dedupeKey : `id:${id}`), partitions);
  await host.runtime.call({ op: 'publish', topic: target, partition, request: { payload: frameMessages([record]), count: 1, ids: [dedupeKey] } });
  return true;
}
