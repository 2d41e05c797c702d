// How a dead letter carries its origin: the original value, key and headers, plus `ferry-dlq-*`
// headers naming where it came from and why it died.
import { decodeBody, decodeMeta, encodeMessage, frameMessages } from './codec.ts';
import { hash32, producerNumber } from './hash.ts';
import type { DeadLetterInfo, DeadLetterSink, PublishRequest } from './partition-api.ts';

export type { DeadLetterInfo } from './partition-api.ts';


const PREFIX = 'ferry-dlq-';

/** Re-encodes `record` as a dead letter carrying `info` in its headers. */
export function deadLetterRecord(record: Uint8Array, info: DeadLetterInfo, maxMessageBytes: number): Uint8Array {
  const meta = decodeMeta(record);
  let body: { value: unknown; headers: Readonly<Record<string, string>> | undefined };
  try {
    body = decodeBody(record);
  } catch {
    // A value that does not decode is kept as it was stored: its raw bytes, for whoever investigates.
    body = { value: Uint8Array.prototype.slice.call(record), headers: { [`${PREFIX}undecodable`]: 'true' } };
  }
  const headers: Record<string, string> = { ...body.headers };
  headers[`${PREFIX}topic`] = info.topic;
  headers[`${PREFIX}partition`] = String(info.partition);
  headers[`${PREFIX}offset`] = String(info.offset);
  headers[`${PREFIX}group`] = info.group;
  headers[`${PREFIX}attempts`] = String(info.attempts);
  headers[`${PREFIX}first-delivery`] = String(info.firstDeliveredAt);
  headers[`${PREFIX}last-delivery`] = String(info.lastDeliveredAt);
  if (info.lastError !== null) headers[`${PREFIX}error`] = info.lastError;
  // The original id is kept only as metadata: dead letters are deduplicated by their origin.
  if (meta.id !== undefined) headers[`${PREFIX}id`] = meta.id;
  return encodeMessage({ value: body.value, ...(meta.key === undefined ? {} : { key: meta.key }), headers }, 0, Math.max(maxMessageBytes, 2 * record.length + 4096));
}

/** The origin of a dead letter read back from its headers, or undefined for an ordinary message. */
export function readDeadLetterInfo(headers: Readonly<Record<string, string>> | undefined): DeadLetterInfo | undefined {
  const topic = headers?.[`${PREFIX}topic`];
  if (!headers || topic === undefined) return undefined;
  return {
    topic,
    partition: Number(headers[`${PREFIX}partition`]),
    offset: Number(headers[`${PREFIX}offset`]),
    group: headers[`${PREFIX}group`] ?? '',
    attempts: Number(headers[`${PREFIX}attempts`]),
    firstDeliveredAt: Number(headers[`${PREFIX}first-delivery`]),
    lastDeliveredAt: Number(headers[`${PREFIX}last-delivery`]),
    lastError: headers[`${PREFIX}error`] ?? null,
  };
}

/** The original message id of a dead letter (kept in its headers), for redrive. */
export function originalId(headers: Readonly<Record<string, string>> | undefined): string | undefined {
  return headers?.[`${PREFIX}id`];
}

/** The original headers of a dead letter, without the `ferry-dlq-*` ones (for redrive). */
export function originalHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith(PREFIX)) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A dead letter on its way to its topic, as a partition actor hands it over. */
export type DeadLetter = Parameters<DeadLetterSink>[0];

/**
 * Where a dead letter goes and how it is published: every letter of one (partition, group) goes
 * to the same dead-letter partition, as an idempotent batch numbered by the letter's sequence, so
 * a letter sent again after a crash is stored once.
 */
export function deadLetterPublish(letter: Pick<DeadLetter, 'producerKey' | 'sequence' | 'record'>, deadLetterPartitions: number): { partition: number; request: PublishRequest } {
  return {
    partition: hash32(letter.producerKey) % deadLetterPartitions,
    request: {
      payload: frameMessages([letter.record]),
      count: 1,
      producer: { id: producerNumber(letter.producerKey), epoch: 0, baseSequence: letter.sequence, name: letter.producerKey },
    },
  };
}
