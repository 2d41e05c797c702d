// The two per-message streams between the main thread and a shard, as columns on the wire: a
// fetch's deliveries (shard -> engine) and a settle command's starts and acks (engine -> shard).
// A structured clone of an object per message costs per object and per property on both sides;
// typed arrays cost a copy (lease tokens are numbers: no string per message either), and a
// fetch's bytes move (transferred, not copied). Each side packs just before posting and unpacks
// on arrival, so core's protocol keeps its plain objects.
import type { DeliveredMessage, PartitionCommand, SettleItem } from '../core/index.ts';

/** A fetch's deliveries on the wire. Record i is bytes [ends[i - 1] (or 0), ends[i]). */
export interface DeliveryColumns {
  readonly columns: 'deliveries';
  readonly offsets: Float64Array;
  readonly attempts: Uint32Array;
  readonly publishedAt: Float64Array;
  readonly ends: Uint32Array;
  readonly tokens: Float64Array;
  readonly bytes: Uint8Array;
}

/** A settle command's items on the wire when all are starts and plain acks (the common case). */
export interface SettleColumns {
  readonly columns: 'settle';
  /** 1 = ack, 0 = start. */
  readonly acks: Uint8Array;
  readonly offsets: Float64Array;
  readonly tokens: Float64Array;
}

/** offset, token, attempt, bytes, start, end, publishedAt. */
const DELIVERED_FIELDS = 7;

function isDeliveries(value: unknown): value is readonly DeliveredMessage[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  const first: unknown = value[0];
  // Exactly a DeliveredMessage's fields: a reply of another shape with these two is never packed (it would lose fields).
  if (typeof first !== 'object' || first === null || Object.keys(first).length !== DELIVERED_FIELDS) return false;
  return 'offset' in first && 'token' in first && 'attempt' in first && 'bytes' in first && 'start' in first && 'end' in first && 'publishedAt' in first;
}

/** A fetch reply's deliveries as columns (any other value as it is). */
export function packReplyValue(value: unknown): unknown {
  if (!isDeliveries(value)) return value;
  const n = value.length;
  let total = 0;
  for (const m of value) total += m.end - m.start;
  const offsets = new Float64Array(n);
  const attempts = new Uint32Array(n);
  const publishedAt = new Float64Array(n);
  const ends = new Uint32Array(n);
  const tokens = new Float64Array(n);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const m = value[i]!;
    offsets[i] = m.offset;
    attempts[i] = m.attempt;
    publishedAt[i] = m.publishedAt;
    tokens[i] = m.token;
    bytes.set(m.bytes.subarray(m.start, m.end), at);
    at += m.end - m.start;
    ends[i] = at;
  }
  return { columns: 'deliveries', offsets, attempts, publishedAt, ends, tokens, bytes } satisfies DeliveryColumns;
}

/** The deliveries of a reply packed by packReplyValue (any other value as it is). */
export function unpackReplyValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || (value as { columns?: unknown }).columns !== 'deliveries') return value;
  const c = value as DeliveryColumns;
  const out: DeliveredMessage[] = new Array<DeliveredMessage>(c.offsets.length);
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    const end = c.ends[i]!;
    out[i] = { offset: c.offsets[i]!, token: c.tokens[i]!, attempt: c.attempts[i]!, bytes: c.bytes, start, end, publishedAt: c.publishedAt[i]! };
    start = end;
  }
  return out;
}

/** The ArrayBuffer a packed reply value can move instead of copy. */
export function replyValueTransfer(value: unknown): ArrayBuffer | undefined {
  const c = value as Partial<DeliveryColumns> | null;
  return typeof c === 'object' && c !== null && c.columns === 'deliveries' && c.bytes?.buffer instanceof ArrayBuffer ? c.bytes.buffer : undefined;
}

/** A settle command with its starts and plain acks as columns (any other command, or a mix with other items, as it is). */
export function packCommand(command: PartitionCommand): PartitionCommand {
  if (command.op !== 'settle' || command.items.length < 2) return command;
  const { items } = command;
  for (const item of items) if (!(item.kind === 'start' || (item.kind === 'ack' && item.keys === undefined))) return command;
  const acks = new Uint8Array(items.length);
  const offsets = new Float64Array(items.length);
  const tokens = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Extract<SettleItem, { kind: 'start' | 'ack' }>;
    acks[i] = item.kind === 'ack' ? 1 : 0;
    offsets[i] = item.offset;
    tokens[i] = item.token;
  }
  // The command's shape is core's; only its items travel as columns (unpackCommand restores them).
  return { ...command, items: { columns: 'settle', acks, offsets, tokens } satisfies SettleColumns as unknown as SettleItem[] };
}

/** A command as packCommand sent it, with its items as objects again. */
export function unpackCommand(command: PartitionCommand): PartitionCommand {
  if (command.op !== 'settle' || Array.isArray(command.items)) return command;
  const c = command.items as unknown as SettleColumns;
  const items: SettleItem[] = new Array<SettleItem>(c.offsets.length);
  for (let i = 0; i < items.length; i++) items[i] = { kind: c.acks[i] === 1 ? 'ack' : 'start', offset: c.offsets[i]!, token: c.tokens[i]! };
  return { ...command, items };
}
