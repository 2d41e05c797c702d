// A Ferry message inside a NATS message: the payload is msgpack of
// [format, value, headers, key, id, deadLetter, onlyGroup]. Everything Ferry-level sits in the
// payload, not in NATS headers (whose names and values cannot carry every string a Ferry header
// may hold); the only NATS header used is Nats-Msg-Id, for the stream's dedupe.
import { Packr } from 'msgpackr';
import { unencodableValueError, type DeadLetterInfo } from '../../core/index.ts';

const FORMAT = 1;

const packr = new Packr({
  useRecords: false,
  writeFunction: () => {
    throw new TypeError('functions cannot be encoded');
  },
});

export interface Payload {
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly key: string | undefined;
  readonly id: string | undefined;
  readonly deadLetter: DeadLetterInfo | undefined;
  /** Set on a redriven copy: only this group takes it; the others ack it unseen. */
  readonly onlyGroup: string | undefined;
}

/** Encodes a payload; a value msgpack cannot carry is INVALID_MESSAGE, as on the embedded engine. */
export function encodePayload(p: Payload): Uint8Array {
  try {
    return packr.pack([FORMAT, p.value, p.headers ?? null, p.key ?? null, p.id ?? null, p.deadLetter ?? null, p.onlyGroup ?? null]);
  } catch (error) {
    throw unencodableValueError(error);
  }
}

/** Decodes a payload; a message Ferry did not write (another client on the subject) comes back as its raw bytes. */
export function decodePayload(data: Uint8Array): Payload {
  try {
    // From a plain Uint8Array view, msgpack bins come back as Uint8Array (as on the embedded engine), not Buffer.
    const decoded = packr.unpack(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) as unknown;
    if (Array.isArray(decoded) && decoded[0] === FORMAT && decoded.length === 7) {
      const [, value, headers, key, id, deadLetter, onlyGroup] = decoded as [number, unknown, Record<string, string> | null, string | null, string | null, DeadLetterInfo | null, string | null];
      return { value, headers: headers ?? undefined, key: key ?? undefined, id: id ?? undefined, deadLetter: deadLetter ?? undefined, onlyGroup: onlyGroup ?? undefined };
    }
  } catch {
    // not msgpack: fall through to the raw bytes
  }
  return { value: data, headers: undefined, key: undefined, id: undefined, deadLetter: undefined, onlyGroup: undefined };
}
