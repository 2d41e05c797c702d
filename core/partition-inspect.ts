// Looking into a partition without a consumer group (runs on the partition's thread): browsing
// messages from an offset or a time, finding the offset of a time, and one message's history as
// the log recorded it (published, each failed attempt with its error, the dead-letter move, the
// ack, a group reset) with what the partition knows of it now. Every scan is bounded.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { decodeControl, decodeMeta, messageSlices } from './codec.ts';
import type { PartitionScope } from './partition-scope.ts';
import { RecordType, type AckRecord, type DeadIntentRecord, type RetryRecord } from './records.ts';

/** Where a browse or a reset starts: an offset, or the first message published at or after a time (wall ms). */
export type Position = number | { readonly time: number };

/** A stored message as the log holds it (value still encoded). */
export interface StoredMessage {
  readonly offset: number;
  readonly record: Uint8Array;
  readonly publishedAt: number;
}

/** A browse's answer: the messages, and where the next browse goes on. */
export interface ReadReply {
  readonly messages: readonly StoredMessage[];
  /** The offset after the last message read (or where reading stopped). */
  readonly nextOffset: number;
  /** The partition's committed end when read: nothing more to read at or past it. */
  readonly endOffset: number;
  readonly startOffset: number;
}

/** One step of a message's life, as a record in the log says it. */
export type HistoryStep =
  | { readonly kind: 'failed'; readonly group: string; readonly at: number; readonly attempts: number; readonly error: string | null; readonly retryAt: number; readonly firstDeliveredAt: number; readonly lastDeliveredAt: number }
  | { readonly kind: 'deadLetterIntent'; readonly group: string; readonly at: number; readonly attempts: number; readonly error: string | null; readonly firstDeliveredAt: number; readonly lastDeliveredAt: number }
  | { readonly kind: 'deadLettered'; readonly group: string; readonly at: number }
  | { readonly kind: 'acked'; readonly group: string; readonly at: number }
  | { readonly kind: 'groupReset'; readonly group: string; readonly at: number; readonly to: number }
  | { readonly kind: 'groupDeleted'; readonly group: string; readonly at: number };

/** What a group's state on the partition says of the message now. */
export interface HistoryGroupState {
  readonly group: string;
  /** 'unread': the group has not reached it; 'pending': tracked, not settled; 'settled': acked or dead-lettered (or before the group's start). */
  readonly state: 'unread' | 'pending' | 'settled';
  readonly failures?: number;
  readonly leased?: boolean;
  readonly lastError?: string | null;
  readonly deadLettering?: boolean;
}

/** A message's life on its partition. */
export interface MessageHistory {
  readonly offset: number;
  readonly publishedAt: number;
  readonly key: string | undefined;
  readonly id: string | undefined;
  /** The idempotent producer's numeric id, or -1. */
  readonly producerId: number;
  readonly steps: readonly HistoryStep[];
  readonly groups: readonly HistoryGroupState[];
  /** True when the log after the message was longer than one history scan reads: later steps may be missing. */
  readonly truncated: boolean;
}

/** Messages per browse, at most. */
export const MAX_READ_MESSAGES = 1000;
/** Bytes of log one history scan reads at most. */
export const MAX_HISTORY_SCAN_BYTES = 64 * 1024 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;

/** The first message offset published at or after `time` (wall ms), or the committed end. */
export function offsetAtTime(scope: PartitionScope, time: number): number {
  const log = scope.c.log;
  const segment = log.segments().find((s) => s.maxTimestamp >= time);
  if (!segment) return log.committedEnd;
  let at = Math.max(segment.baseOffset, log.startOffset);
  while (at < log.committedEnd) {
    const batches = log.read(at, { maxBytes: READ_CHUNK_BYTES });
    if (batches.length === 0) break;
    for (const b of batches) {
      if (b.type === RecordType.DATA && b.timestamp >= time) return b.baseOffset;
      at = b.baseOffset + b.recordCount;
    }
  }
  return log.committedEnd;
}

/** Resolves a position to an offset within [startOffset, committedEnd]. */
export function resolvePosition(scope: PartitionScope, from: Position): number {
  const log = scope.c.log;
  if (typeof from === 'number') {
    if (!Number.isSafeInteger(from) || from < 0) throw new InvalidArgumentError(`an offset must be a whole number from 0 (got ${showValue(from)})`);
    return Math.min(Math.max(from, log.startOffset), log.committedEnd);
  }
  if (typeof from !== 'object' || from === null || typeof from.time !== 'number' || !Number.isFinite(from.time)) {
    throw new InvalidArgumentError(`a position is an offset or { time } in ms since the epoch (got ${showValue(from)})`);
  }
  return offsetAtTime(scope, from.time);
}

/** Up to `limit` stored messages from `from` (committed ones only). */
export function readMessages(scope: PartitionScope, from: Position, limit: number): ReadReply {
  const log = scope.c.log;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_READ_MESSAGES) throw new InvalidArgumentError(`limit must be a whole number from 1 to ${MAX_READ_MESSAGES} (got ${showValue(limit)})`);
  let at = resolvePosition(scope, from);
  const messages: StoredMessage[] = [];
  while (messages.length < limit && at < log.committedEnd) {
    const batches = log.read(at, { maxBytes: READ_CHUNK_BYTES });
    if (batches.length === 0) break;
    for (const b of batches) {
      if (b.type === RecordType.DATA) {
        const records = messageSlices(b.payload);
        for (let i = 0; i < records.length && messages.length < limit; i++) {
          const offset = b.baseOffset + i;
          if (offset < at) continue;
          // A copy: the slice is a view into a read chunk.
          messages.push({ offset, record: Uint8Array.prototype.slice.call(records[i]!), publishedAt: b.timestamp });
          at = offset + 1;
        }
        if (messages.length >= limit) break;
      }
      at = Math.max(at, b.baseOffset + b.recordCount);
    }
  }
  return { messages, nextOffset: at, endOffset: log.committedEnd, startOffset: log.startOffset };
}

/** A message's life as the log and the partition's state tell it. OFFSET_OUT_OF_RANGE if it is not in the log. */
export function messageHistory(scope: PartitionScope, offset: number): MessageHistory {
  const log = scope.c.log;
  if (!Number.isSafeInteger(offset) || offset < log.startOffset || offset >= log.committedEnd) {
    throw new InvalidArgumentError(`offset ${String(offset)} is not in ${scope.where}, which holds ${log.startOffset} to ${log.committedEnd - 1}`);
  }
  const [batch] = log.read(offset, { maxBytes: 1 });
  if (!batch || batch.type !== RecordType.DATA) throw new InvalidArgumentError(`offset ${offset} of ${scope.where} is not a message (it holds the engine's own record)`);
  const meta = decodeMeta(messageSlices(batch.payload)[offset - batch.baseOffset]!);
  const steps: HistoryStep[] = [];
  let at = batch.baseOffset + batch.recordCount;
  let bytes = 0;
  while (at < log.committedEnd && bytes < MAX_HISTORY_SCAN_BYTES) {
    const batches = log.read(at, { maxBytes: READ_CHUNK_BYTES });
    if (batches.length === 0) break;
    for (const b of batches) {
      bytes += b.payload.byteLength;
      at = b.baseOffset + b.recordCount;
      const step = historyStep(b.type, b.payload, b.timestamp, offset);
      if (step) steps.push(step);
    }
  }
  const groups = [...scope.groups.values()].map((g): HistoryGroupState => {
    const p = g.pending.get(offset);
    if (p) return { group: g.name, state: 'pending', failures: p.failures, leased: p.lease !== undefined, lastError: p.lastError, deadLettering: p.deadSeq > 0 };
    return { group: g.name, state: offset >= g.cursor && !g.aheadSettled.has(offset) ? 'unread' : 'settled' };
  });
  return { offset, publishedAt: batch.timestamp, key: meta.key, id: meta.id, producerId: batch.producerId, steps, groups, truncated: at < log.committedEnd };
}

/** The step a control record says of `offset`, if any. */
function historyStep(type: number, payload: Uint8Array, at: number, offset: number): HistoryStep | undefined {
  switch (type) {
    case RecordType.ACK: {
      const r = decodeControl<AckRecord>(payload);
      return r.o.includes(offset) ? { kind: 'acked', group: r.g, at } : undefined;
    }
    case RecordType.RETRY: {
      const r = decodeControl<RetryRecord>(payload);
      return r.o === offset ? { kind: 'failed', group: r.g, at, attempts: r.f, error: r.e, retryAt: r.due, firstDeliveredAt: r.fd, lastDeliveredAt: r.ld } : undefined;
    }
    case RecordType.DEAD_INTENT: {
      const r = decodeControl<DeadIntentRecord>(payload);
      return r.o === offset ? { kind: 'deadLetterIntent', group: r.g, at, attempts: r.f, error: r.e, firstDeliveredAt: r.fd, lastDeliveredAt: r.ld } : undefined;
    }
    case RecordType.DEAD: {
      const r = decodeControl<{ g: string; o: number }>(payload);
      return r.o === offset ? { kind: 'deadLettered', group: r.g, at } : undefined;
    }
    case RecordType.GROUP_RESET: {
      const r = decodeControl<{ g: string; c: number }>(payload);
      return { kind: 'groupReset', group: r.g, at, to: r.c };
    }
    case RecordType.GROUP_DELETED:
      return { kind: 'groupDeleted', group: decodeControl<{ g: string }>(payload).g, at };
    default:
      return undefined;
  }
}
