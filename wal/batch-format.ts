// The on-disk framing of one batch: a fixed 64-byte header, then the payload bytes exactly as the
// caller gave them (the log never decodes or re-encodes them). Runs on whichever thread owns a log.
//
//   0  u32 magic 'FRY1'     never all zeros, so zero-filled space never parses as a batch
//   4  u32 crc              CRC-32 (zlib.crc32) of bytes 8..64 of the header, then the payload
//   8  u32 length           header + payload bytes
//  12  u8  format version   13  u8 record type   14 u16 flags (the caller's; 0 by default)
//  16  u64 base offset      24  u32 record count  28 u32 producer epoch
//  32  u64 producer id      40  i32 base sequence 44 u32 previous batch's crc (a chain)
//  48  u64 timestamp (ms)   56  u64 durable end: the log's synced end offset when this was written
//
// The chain catches a stale but intact batch left behind by an earlier write; the durable-end
// stamp lets recovery tell a torn, never-synced tail (truncate) from damage to data that a later
// batch proves was synced (refuse).
import { crc32 } from './crc32.ts';

export const BATCH_MAGIC = 0x31595246; // 'FRY1' little-endian
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;
/** Largest batch a log will frame; segments are also capped well below 4 GiB. */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/** The header fields of a batch, as read back from disk. */
export interface BatchHeader {
  readonly crc: number;
  readonly length: number;
  readonly type: number;
  /** The caller's flags (0 in batches written before flags were used). */
  readonly flags: number;
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly previousCrc: number;
  readonly timestamp: number;
  readonly durableEnd: number;
}

/** What a caller supplies to frame a batch; offsets and chain fields are the log's to fill. */
export interface BatchFields {
  readonly type: number;
  /** 16 bits the log stores for the caller and never interprets. Default 0. */
  readonly flags?: number;
  readonly recordCount: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly timestamp: number;
}

const TWO_32 = 2 ** 32;

function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value % TWO_32, true);
  view.setUint32(at + 4, Math.floor(value / TWO_32), true);
}

function readU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * TWO_32;
}

/** CRC of a batch: header bytes 8..64, then the payload. */
export function batchCrc(header: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(header.subarray(8, HEADER_BYTES)));
}

/** Fills every header field but the CRC. `header` is the first 64 bytes of a frame. */
export function writeHeaderFields(view: DataView, fields: BatchFields, payloadLength: number, baseOffset: number, previousCrc: number, durableEnd: number): void {
  view.setUint32(0, BATCH_MAGIC, true);
  view.setUint32(8, HEADER_BYTES + payloadLength, true);
  view.setUint8(12, FORMAT_VERSION);
  view.setUint8(13, fields.type);
  view.setUint16(14, fields.flags ?? 0, true);
  writeU64(view, 16, baseOffset);
  view.setUint32(24, fields.recordCount, true);
  view.setUint32(28, fields.producerEpoch, true);
  writeU64(view, 32, fields.producerId);
  view.setInt32(40, fields.baseSequence, true);
  view.setUint32(44, previousCrc, true);
  writeU64(view, 48, fields.timestamp);
  writeU64(view, 56, durableEnd);
}

/** Fills `header` (64 bytes) for `payload` and returns its CRC. */
export function encodeHeader(
  header: Uint8Array,
  fields: BatchFields,
  payload: Uint8Array,
  baseOffset: number,
  previousCrc: number,
  durableEnd: number,
): number {
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  writeHeaderFields(view, fields, payload.length, baseOffset, previousCrc, durableEnd);
  const crc = batchCrc(header, payload);
  view.setUint32(4, crc, true);
  return crc;
}

/** Seals a frame laid out contiguously (header then payload, `length` bytes): one CRC pass. */
export function sealFrame(frame: Uint8Array, view: DataView, length: number): number {
  const crc = crc32(frame.subarray(8, length));
  view.setUint32(4, crc, true);
  return crc;
}

/** Why a header did not parse; `undefined` from `checkHeader` means it did. */
export type HeaderProblem = 'bad magic' | 'unknown format version' | 'impossible length';

/** Cheap structural checks on a header before trusting its length. */
export function checkHeader(bytes: Uint8Array, at: number, available: number): HeaderProblem | undefined {
  if (available < HEADER_BYTES) return 'impossible length';
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  if (view.getUint32(0, true) !== BATCH_MAGIC) return 'bad magic';
  if (view.getUint8(12) !== FORMAT_VERSION) return 'unknown format version';
  const length = view.getUint32(8, true);
  if (length < HEADER_BYTES || length > MAX_BATCH_BYTES) return 'impossible length';
  return undefined;
}

/** Decodes a header that passed `checkHeader`. */
export function decodeHeader(bytes: Uint8Array, at: number): BatchHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  return {
    crc: view.getUint32(4, true),
    length: view.getUint32(8, true),
    type: view.getUint8(13),
    flags: view.getUint16(14, true),
    baseOffset: readU64(view, 16),
    recordCount: view.getUint32(24, true),
    producerEpoch: view.getUint32(28, true),
    producerId: readU64(view, 32),
    baseSequence: view.getInt32(40, true),
    previousCrc: view.getUint32(44, true),
    timestamp: readU64(view, 48),
    durableEnd: readU64(view, 56),
  };
}

/** True when the whole batch at `at` (header and payload, `length` bytes) matches its CRC. */
export function crcMatches(bytes: Uint8Array, at: number, header: BatchHeader): boolean {
  return batchCrc(bytes.subarray(at, at + HEADER_BYTES), bytes.subarray(at + HEADER_BYTES, at + header.length)) === header.crc;
}
