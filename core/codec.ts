// Message encoding: each message is encoded once, on the producer's thread, with msgpackr, and
// framed into a batch payload the log stores as is. Consumers decode it lazily, message by message.
//
// Batch payload:  repeated [u32 length][msgpack of [value, key, headers, id, deliverAt]]
import { Packr } from 'msgpackr';
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
  /** Hold the message back this long before first delivery. */
  readonly delayMs?: number;
}

/** A message as decoded from the log. */
export interface StoredMessage {
  readonly value: unknown;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  /** Not delivered before this time (ms since epoch); 0 for "at once". */
  readonly deliverAt: number;
}

const packr = new Packr({
  useRecords: false,
  // A function inside a value would silently vanish; refuse it instead.
  writeFunction: () => {
    throw new TypeError('functions cannot be encoded');
  },
});

/** Encodes one message into a fresh buffer the caller owns (never msgpackr's shared arena). */
export function encodeMessage(message: Message, deliverAt: number, maxMessageBytes: number): Uint8Array {
  if (message === null || typeof message !== 'object') throw new InvalidMessageError('a message must be an object like { value, key?, headers?, id?, delayMs? }');
  if (message.key !== undefined && typeof message.key !== 'string') throw new InvalidMessageError('message.key must be a string');
  if (message.id !== undefined && (typeof message.id !== 'string' || message.id.length === 0)) throw new InvalidMessageError('message.id must be a non-empty string');
  if (message.headers !== undefined) {
    if (typeof message.headers !== 'object' || message.headers === null) throw new InvalidMessageError('message.headers must be an object of strings');
    for (const [k, v] of Object.entries(message.headers)) if (typeof v !== 'string') throw new InvalidMessageError(`header ${JSON.stringify(k)} must be a string`);
  }
  let view: Uint8Array;
  try {
    view = packr.pack([message.value, message.key ?? null, message.headers ?? null, message.id ?? null, deliverAt]);
  } catch (error) {
    throw new InvalidMessageError(`message value cannot be encoded with msgpack (${(error as Error).message}); send plain data, Buffers or Uint8Arrays`, { cause: error });
  }
  if (view.length > maxMessageBytes) {
    throw new InvalidMessageError(`message of ${view.length} bytes exceeds maxMessageBytes (${maxMessageBytes}); store large payloads elsewhere and send a reference`, {
      details: { bytes: view.length, maxMessageBytes },
    });
  }
  // Own copy: the view is reused by the next pack(), and Buffer#slice would only make another view.
  return Uint8Array.prototype.slice.call(view);
}

/** Concatenates encoded messages into one batch payload with length prefixes. */
export function frameMessages(encoded: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of encoded) total += 4 + e.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.length, true);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

/** Byte ranges of the messages in a batch payload, in order. */
export function messageSlices(payload: Uint8Array): Uint8Array[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const slices: Uint8Array[] = [];
  for (let at = 0; at < payload.length; ) {
    const length = view.getUint32(at, true);
    slices.push(payload.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return slices;
}

/** Decodes one message encoded by `encodeMessage`. */
export function decodeMessage(bytes: Uint8Array): StoredMessage {
  const [value, key, headers, id, deliverAt] = packr.unpack(bytes) as [unknown, string | null, Record<string, string> | null, string | null, number];
  return { value, key: key ?? undefined, headers: headers ?? undefined, id: id ?? undefined, deliverAt };
}
