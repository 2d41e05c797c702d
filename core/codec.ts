// Message encoding: each message is encoded once, on the producer's thread, with msgpackr, and
// framed into a batch payload the log stores as is. The partition actor reads only the small
// meta part (key, id, deliverAt); consumers decode the body (value, headers).
//
//   batch payload:  repeated [u32 recordBytes][record]
//   record:         [u16 metaBytes][msgpack [key|null, id|null, deliverAt]][msgpack [value, headers|null]]
import { Packr } from 'msgpackr';
import { showValue } from '../wal/index.ts';
import { InvalidMessageError } from './errors.ts';

/** A message as a producer gives it. */
export interface Message<V = unknown> {
  /** Any msgpack-encodable value; Buffers and Uint8Arrays travel as bytes. */
  readonly value: V;
  /** Routes the message to a partition, and orders it under `ordering: 'key'`. */
  readonly key?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Deduplication id: a second message with the same id within the topic's window is dropped. */
  readonly id?: string;
  /** Hold the message back this long before its first delivery. */
  readonly delayMs?: number;
}

/** What the partition actor needs to know about a message, without decoding its value. */
export interface MessageMeta {
  readonly key: string | undefined;
  readonly id: string | undefined;
  /** Not delivered before this time (ms since epoch); 0 for "at once". */
  readonly deliverAt: number;
  /** Delivered to this consumer group only (a redriven dead letter goes back to the group that dead-lettered it). */
  readonly onlyGroup?: string;
  /** The key the dedupe window knows this message by, when not its `id` (a redriven copy keeps its id). */
  readonly dedupeKey?: string;
}

/** Engine-set routing of a message, beyond what a producer gives (see MessageMeta). */
export interface MessageRouting {
  readonly onlyGroup?: string;
  readonly dedupeKey?: string;
}

/** The part of a message only consumers decode. */
export interface MessageBody {
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>> | undefined;
}

const packr = new Packr({
  useRecords: false,
  // A function inside a value would silently vanish; refuse it instead.
  writeFunction: () => {
    throw new TypeError('functions cannot be encoded');
  },
});

/**
 * INVALID_MESSAGE for a value msgpack cannot encode, saying what the sender can do instead:
 * msgpackr's own text about a big bigint names its options, which a Ferry user cannot set.
 */
export function unencodableValueError(error: unknown): InvalidMessageError {
  const reason = error instanceof Error ? error.message : String(error);
  const why = /too large to fit in MessagePack 64-bit integer/.test(reason)
    ? 'a bigint outside the 64-bit range, -2^63 to 2^64-1, cannot be sent: send it as a string (big.toString(), read back with BigInt(text)); a bigint within the range is sent and delivered as a bigint'
    : `${reason}; send plain data, Buffers or Uint8Arrays`;
  return new InvalidMessageError(`message value cannot be encoded with msgpack: ${why}`, { cause: error });
}

const MAX_KEY_OR_ID_CHARS = 1024;

/** msgpack of [null, null, 0]: the meta of a message with no key, no id and no delay. */
const PLAIN_META = Uint8Array.of(0x93, 0xc0, 0xc0, 0x00);

/** Throws INVALID_MESSAGE unless `message` is { value, key?, headers?, id?, delayMs? } with valid fields. */
export function checkShape(message: Message): void {
  if (message === null || typeof message !== 'object') throw new InvalidMessageError(`a message must be an object like { value, key?, headers?, id?, delayMs? } (got ${showValue(message)})`);
  // A typo (`delay` for `delayMs`) must not lose what it meant. for-in: no array per message.
  for (const name in message) {
    if (name !== 'value' && name !== 'key' && name !== 'headers' && name !== 'id' && name !== 'delayMs') throw new InvalidMessageError(`unknown message field ${JSON.stringify(name)}; a message is { value, key?, headers?, id?, delayMs? }`);
  }
  if (!('value' in message)) throw new InvalidMessageError('message.value is missing: a message is { value, key?, headers?, id?, delayMs? }');
  if (message.key !== undefined && (typeof message.key !== 'string' || message.key.length > MAX_KEY_OR_ID_CHARS)) throw new InvalidMessageError(`message.key must be a string of at most ${MAX_KEY_OR_ID_CHARS} characters (got ${showValue(message.key)})`);
  if (message.id !== undefined && (typeof message.id !== 'string' || message.id.length === 0 || message.id.length > MAX_KEY_OR_ID_CHARS)) throw new InvalidMessageError(`message.id must be a non-empty string of at most ${MAX_KEY_OR_ID_CHARS} characters (got ${showValue(message.id)})`);
  if (message.headers !== undefined) {
    if (typeof message.headers !== 'object' || message.headers === null) throw new InvalidMessageError(`message.headers must be an object of strings (got ${showValue(message.headers)})`);
    for (const [k, v] of Object.entries(message.headers)) if (typeof v !== 'string') throw new InvalidMessageError(`message.headers[${JSON.stringify(k)}] must be a string (got ${showValue(v)})`);
  }
}

/** Where an encoded record's bytes go: a fresh buffer by default, or a producer's RecordSlab. */
export type AllocateRecord = (bytes: number) => Uint8Array;

const ownBuffer: AllocateRecord = (bytes) => new Uint8Array(bytes);

/**
 * Hands out records as views into shared 64 KiB slabs: one small ArrayBuffer per message costs
 * more in allocation and GC than encoding it. A slab is only ever appended to, so a record is never
 * overwritten; it lives while any record in it does. Records from a slab are copied into a batch
 * payload before they travel (a view is never posted: that would clone the whole slab).
 */
export class RecordSlab {
  static readonly BYTES = 64 * 1024;
  #slab = new Uint8Array(RecordSlab.BYTES);
  #at = 0;

  readonly allocate: AllocateRecord = (bytes) => {
    if (bytes > RecordSlab.BYTES >> 3) return new Uint8Array(bytes);
    if (this.#at + bytes > RecordSlab.BYTES) {
      this.#slab = new Uint8Array(RecordSlab.BYTES);
      this.#at = 0;
    }
    const record = this.#slab.subarray(this.#at, this.#at + bytes);
    this.#at += bytes;
    return record;
  };
}

/** Writes a record's u16 meta length (little-endian) at its start, `at`. */
function writeMetaLength(record: Uint8Array, at: number, length: number): void {
  record[at] = length & 0xff;
  record[at + 1] = length >>> 8;
}

/** Bytes of the msgpack header of a bin (byte string) of `length` bytes. */
function binHeaderBytes(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes that header at `at` (no intermediate array: this runs once per message). */
function writeBinHeader(record: Uint8Array, at: number, length: number): void {
  if (length < 0x100) {
    record[at] = 0xc4;
    record[at + 1] = length;
  } else if (length < 0x10000) {
    record[at] = 0xc5;
    record[at + 1] = length >>> 8;
    record[at + 2] = length & 0xff;
  } else {
    record[at] = 0xc6;
    record[at + 1] = (length >>> 24) & 0xff;
    record[at + 2] = (length >>> 16) & 0xff;
    record[at + 3] = (length >>> 8) & 0xff;
    record[at + 4] = length & 0xff;
  }
}

/** Throws INVALID_MESSAGE for a record of `bytes` above `maxMessageBytes`. */
/**
 * Bytes of a message counted against maxMessageBytes besides a bytes value with no key, id or
 * headers: the meta length (2), the meta [nil, nil, 0] (4), the body's array header (1), the
 * value's bin header (up to 5) and nil headers (1). Other values count as their msgpack bytes.
 */
export const MESSAGE_OVERHEAD_BYTES = 13;

function checkSize(bytes: number, maxMessageBytes: number): void {
  if (bytes > maxMessageBytes) {
    throw new InvalidMessageError(
      `message of ${bytes} bytes exceeds maxMessageBytes (${maxMessageBytes}): that counts the encoded message, its value plus ${MESSAGE_OVERHEAD_BYTES} bytes of framing plus its key, id and headers (a Buffer or Uint8Array value alone may be ${maxMessageBytes - MESSAGE_OVERHEAD_BYTES} bytes); store large payloads elsewhere and send a reference`,
      { details: { bytes, maxMessageBytes } },
    );
  }
}

/**
 * A message's record, laid out but not yet written: `bytes` long, its meta, and either a bytes
 * `value` written as msgpack [bin, nil] with no msgpack pass (a service sending what it serialised
 * itself, without headers) or a msgpack `body` (a view into msgpackr's arena: written before the
 * next pack()).
 */
export interface RecordPlan {
  readonly bytes: number;
  readonly meta: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly body: Uint8Array | undefined;
}

/** Checks and lays out one message's record (see RecordPlan). */
function planRecord(message: Message, deliverAt: number, maxMessageBytes: number): RecordPlan {
  checkShape(message);
  const value = message.value;
  // The common message (no key, no id, no delay) skips a pack call and an allocation for its meta.
  const plain = message.key === undefined && message.id === undefined && deliverAt === 0;
  if (plain && value instanceof Uint8Array && message.headers === undefined) {
    const bytes = 2 + PLAIN_META.length + 1 + binHeaderBytes(value.length) + value.length + 1;
    checkSize(bytes, maxMessageBytes);
    return { bytes, meta: PLAIN_META, value, body: undefined };
  }
  let meta: Uint8Array;
  let body: Uint8Array;
  try {
    // The meta view is copied out before the next pack() reuses the arena under it.
    meta = plain ? PLAIN_META : Uint8Array.prototype.slice.call(packr.pack([message.key ?? null, message.id ?? null, deliverAt]));
    body = packr.pack([value, message.headers ?? null]);
  } catch (error) {
    throw unencodableValueError(error);
  }
  const bytes = 2 + meta.length + body.length;
  checkSize(bytes, maxMessageBytes);
  return { bytes, meta, value: undefined, body };
}

/** Writes a planned record at `at` of `target` (byte by byte where a copy call would cost more). */
function writeRecord(plan: RecordPlan, target: Uint8Array, at: number): void {
  const { meta, value } = plan;
  writeMetaLength(target, at, meta.length);
  if (meta === PLAIN_META) {
    target[at + 2] = 0x93;
    target[at + 3] = 0xc0;
    target[at + 4] = 0xc0;
    target[at + 5] = 0x00;
  } else target.set(meta, at + 2);
  let to = at + 2 + meta.length;
  if (value === undefined) {
    target.set(plan.body!, to);
    return;
  }
  target[to++] = 0x92; // fixarray of 2
  writeBinHeader(target, to, value.length);
  to += binHeaderBytes(value.length);
  target.set(value, to);
  target[to + value.length] = 0xc0; // nil: no headers
}

/** Encodes one message into a buffer the caller owns (never msgpackr's shared arena): a fresh one unless `allocate` says otherwise. */
export function encodeMessage(message: Message, deliverAt: number, maxMessageBytes: number, allocate: AllocateRecord = ownBuffer, routing?: MessageRouting): Uint8Array {
  if (routing) {
    checkShape(message);
    return encodeRouted(message, deliverAt, maxMessageBytes, routing);
  }
  const plan = planRecord(message, deliverAt, maxMessageBytes);
  const record = allocate(plan.bytes);
  writeRecord(plan, record, 0);
  return record;
}

/**
 * Checks and lays out one message (`writeMessageInto` then writes it): the two steps let a
 * producer pick the batch after the message is known to be valid. Nothing may pack in between.
 */
export function planMessage(message: Message, deliverAt: number, maxMessageBytes: number): RecordPlan {
  return planRecord(message, deliverAt, maxMessageBytes);
}

/** Writes a planned message straight into a batch being built: no buffer of its own, no copy when the batch is sent. */
export function writeMessageInto(plan: RecordPlan, frame: FrameBuilder): void {
  const at = frame.reserve(plan.bytes); // first: it may replace frame.bytes
  writeRecord(plan, frame.bytes, at);
}

/**
 * A batch payload being built in place, records framed one after another as `frameMessages` lays
 * them out ([u32 length][record]...): a producer's lane encodes each message straight into it, and
 * takes batches from its front. Bytes [start, end) of the buffer are records not yet taken.
 */
export class FrameBuilder {
  /** The buffer (replaced when it grows: read it after `reserve`). */
  bytes: Uint8Array;
  #start = 0;
  #end = 0;

  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Bytes of framed records not yet taken. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** Makes room for a record of `recordBytes` after the others, writes its length prefix, and returns where the record goes. */
  reserve(recordBytes: number): number {
    if (this.#end + 4 + recordBytes > this.bytes.length) this.#makeRoom(4 + recordBytes);
    const at = this.#end;
    const b = this.bytes;
    b[at] = recordBytes & 0xff;
    b[at + 1] = (recordBytes >>> 8) & 0xff;
    b[at + 2] = (recordBytes >>> 16) & 0xff;
    b[at + 3] = recordBytes >>> 24;
    this.#end = at + 4 + recordBytes;
    return at + 4;
  }

  /**
   * Moves the records not yet taken to the front, into a buffer twice as large when they would
   * fill more than half of this one: each byte is moved a bounded number of times on average,
   * however long a queue stays behind the batches taken from its front.
   */
  #makeRoom(more: number): void {
    const live = this.length;
    const need = live + more;
    const kept = this.bytes.subarray(this.#start, this.#end);
    if (need > this.bytes.length >> 1) {
      const grown = new Uint8Array(Math.max(need, 2 * this.bytes.length));
      grown.set(kept);
      this.bytes = grown;
    } else this.bytes.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = live;
  }

  /** Appends an encoded record. */
  append(record: Uint8Array): void {
    const at = this.reserve(record.length); // first: it may replace this.bytes
    this.bytes.set(record, at);
  }

  /** Drops every record not yet taken (their messages failed). */
  clear(): void {
    this.#start = this.#end = 0;
  }

  /**
   * Takes the first `bytes` (whole records) as a payload of their own. When that is every record,
   * the payload is a view of this buffer and a new one, twice as large as this batch was, takes
   * its place (the next batch seldom has to grow it); else the payload is a copy.
   */
  take(bytes: number): Uint8Array {
    const from = this.#start;
    if (bytes === this.length) {
      const payload = this.bytes.subarray(from, from + bytes);
      this.bytes = new Uint8Array(Math.min(Math.max(4096, 2 * bytes), MAX_KEPT_FRAME_BYTES));
      this.#start = this.#end = 0;
      return payload;
    }
    this.#start += bytes;
    return this.bytes.slice(from, from + bytes);
  }
}

/** A lane's next batch starts in a buffer of at most this size (it grows as needed). */
const MAX_KEPT_FRAME_BYTES = 1024 * 1024;

/** A message with engine-set routing: its meta carries two more fields (rare: redrives). */
function encodeRouted(message: Message, deliverAt: number, maxMessageBytes: number, routing: MessageRouting): Uint8Array {
  const meta = Uint8Array.prototype.slice.call(packr.pack([message.key ?? null, message.id ?? null, deliverAt, routing.onlyGroup ?? null, routing.dedupeKey ?? null]));
  let body: Uint8Array;
  try {
    body = packr.pack([message.value, message.headers ?? null]);
  } catch (error) {
    throw unencodableValueError(error);
  }
  const bytes = 2 + meta.length + body.length;
  checkSize(bytes, maxMessageBytes);
  const record = new Uint8Array(bytes);
  writeMetaLength(record, 0, meta.length);
  record.set(meta, 2);
  record.set(body, 2 + meta.length);
  return record;
}

/** Concatenates encoded messages into one batch payload with length prefixes. */
export function frameMessages(records: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const r of records) total += 4 + r.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    view.setUint32(at, r.length, true);
    out.set(r, at + 4);
    at += 4 + r.length;
  }
  return out;
}

/** The records of a batch payload, in order (views into it, no copy). */
export function messageSlices(payload: Uint8Array): Uint8Array[] {
  const starts = messageStarts(payload);
  const slices: Uint8Array[] = new Array<Uint8Array>(starts.length - 1);
  for (let i = 0; i < slices.length; i++) slices[i] = payload.subarray(starts[i]! + 4, starts[i + 1]);
  return slices;
}

/**
 * Where the records of a batch payload lie, without a view per record: record i spans
 * [starts[i] + 4, starts[i + 1]) (each is preceded by its 4-byte length); one entry more than records.
 */
export function messageStarts(payload: Uint8Array): number[] {
  const starts: number[] = [];
  let at = 0;
  while (at < payload.length) {
    starts.push(at);
    at += 4 + ((payload[at]! | (payload[at + 1]! << 8) | (payload[at + 2]! << 16)) + payload[at + 3]! * 0x1000000);
  }
  starts.push(at);
  return starts;
}

/** The meta of record i of a batch payload located by `messageStarts` (no view for the common plain meta). */
export function decodeMetaAt(payload: Uint8Array, starts: readonly number[], i: number): MessageMeta {
  return decodeMetaIn(payload, starts[i]! + 4, starts[i + 1]!);
}

const PLAIN: MessageMeta = Object.freeze({ key: undefined, id: undefined, deliverAt: 0 });

function isPlainMetaAt(b: Uint8Array, at: number): boolean {
  return b[at] === PLAIN_META.length && b[at + 1] === 0 && b[at + 2] === 0x93 && b[at + 3] === 0xc0 && b[at + 4] === 0xc0 && b[at + 5] === 0x00;
}

/** Decodes only the meta part of a record (the partition actor does, for every message it scans). */
export function decodeMeta(record: Uint8Array): MessageMeta {
  return decodeMetaIn(record, 0, record.length);
}

/** The meta of the record at bytes [start, end) of `bytes` (no view for the common plain meta). */
export function decodeMetaIn(bytes: Uint8Array, start: number, end: number): MessageMeta {
  if (isPlainMetaAt(bytes, start)) return PLAIN;
  const metaEnd = Math.min(end, start + 2 + (bytes[start]! | (bytes[start + 1]! << 8)));
  const [key, id, deliverAt, onlyGroup, dedupeKey] = packr.unpack(bytes.subarray(start + 2, metaEnd)) as [string | null, string | null, number, (string | null)?, (string | null)?];
  const meta: MessageMeta = { key: key ?? undefined, id: id ?? undefined, deliverAt };
  if (onlyGroup == null && dedupeKey == null) return meta;
  return { ...meta, ...(onlyGroup == null ? {} : { onlyGroup }), ...(dedupeKey == null ? {} : { dedupeKey }) };
}

/** A body at bytes [start, end) that is msgpack [bin, nil] (bytes, no headers): the bytes as a view, or undefined. */
function plainBytesBody(record: Uint8Array, start: number, end: number): Buffer | undefined {
  if (end - start < 4 || record[start] !== 0x92 || record[end - 1] !== 0xc0) return undefined;
  const kind = record[start + 1];
  let length: number;
  let at: number;
  if (kind === 0xc4) {
    length = record[start + 2]!;
    at = start + 3;
  } else if (kind === 0xc5) {
    length = (record[start + 2]! << 8) | record[start + 3]!;
    at = start + 4;
  } else if (kind === 0xc6) {
    length = ((record[start + 2]! << 24) >>> 0) + ((record[start + 3]! << 16) | (record[start + 4]! << 8) | record[start + 5]!);
    at = start + 6;
  } else return undefined;
  if (at + length + 1 !== end) return undefined;
  return Buffer.from(record.buffer, record.byteOffset + at, length);
}

/** Decodes the value and headers of a record. A bytes value is a view into `record`. */
export function decodeBody(record: Uint8Array): MessageBody {
  return decodeBodyIn(record, 0, record.length);
}

/** The value and headers of the record at bytes [start, end) of `bytes`. A bytes value is a view into `bytes`. */
export function decodeBodyIn(bytes: Uint8Array, start: number, end: number): MessageBody {
  const bodyStart = start + 2 + (bytes[start]! | (bytes[start + 1]! << 8));
  const plain = plainBytesBody(bytes, bodyStart, end);
  if (plain) return { value: plain, headers: undefined };
  const [value, headers] = packr.unpack(bytes.subarray(bodyStart, end)) as [unknown, Record<string, string> | null];
  return { value, headers: headers ?? undefined };
}

/** Encodes a small control structure (acks, retries, checkpoints) with the same encoder. */
export function encodeControl(value: unknown): Uint8Array {
  return Uint8Array.prototype.slice.call(packr.pack(value));
}

/** Decodes a control payload written by `encodeControl`. */
export function decodeControl<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
