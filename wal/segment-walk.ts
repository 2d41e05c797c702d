// Walks a segment's batch headers, reading a payload (and checking its CRC) only where the caller
// asks for it: replay after an open needs the headers of every batch but the payloads of few, so it
// reads a fraction of the bytes instead of all of them. Runs on the thread that owns the log.
//
// Headers walked past without their payload are trusted as Segment.read trusts the batches it
// skips (recovery verified the active segment; a sealed one was verified before its index file
// vouched for it), and each must start where the previous one ended: a damaged length or count is
// reported, never followed.
import { HEADER_BYTES, checkHeader, crcMatches, decodeHeader, type BatchHeader } from './batch-format.ts';
import { readFully } from './chunk-reader.ts';
import { CorruptSegmentError } from './errors.ts';
import type { FileHandle } from './seams/file-system.ts';
import type { Segment } from './segment.ts';

/** Whether the walk should read (and CRC-check) this batch's payload. */
export type WantPayload = (header: BatchHeader) => boolean;

/**
 * Called for each batch with its payload, only where asked for: a view that stays valid (what is
 * decoded from it may keep views into it, as a decoded control record's bytes do).
 */
export type WalkVisitor = (header: BatchHeader, payload: Uint8Array | undefined) => void;

/**
 * When batches are typically at least this large, each header is read alone: a system call per
 * header, none of the payload (about where one call costs as much as copying the bytes).
 */
const LARGE_BATCH_BYTES = 4096;
/** After a smaller one, a read ahead of about this many such batches serves many headers per system call. */
const BATCHES_READ_AHEAD = 64;
const MIN_READ_AHEAD_BYTES = 4096;
const MAX_READ_AHEAD_BYTES = 256 * 1024;

/** Bytes to read at the next header, judged from the batches' typical size (a moving average). */
function readAhead(typicalLength: number): number {
  if (typicalLength >= LARGE_BATCH_BYTES) return HEADER_BYTES;
  return Math.min(MAX_READ_AHEAD_BYTES, Math.max(MIN_READ_AHEAD_BYTES, typicalLength * BATCHES_READ_AHEAD));
}

/** A buffer over a file, reused for headers; once a payload has been handed out of it, the next read takes a new one. */
class ReusedWindow {
  readonly #handle: FileHandle;
  readonly #limit: number;
  #buffer = new Uint8Array(MIN_READ_AHEAD_BYTES);
  #start = 0;
  #length = 0;
  #lent = false;

  constructor(handle: FileHandle, limit: number) {
    this.#handle = handle;
    this.#limit = limit;
  }

  /** Bytes [position, position + length) at `at` in the returned buffer, reading `ahead` bytes when it must read; undefined if the file ends first. */
  window(position: number, length: number, ahead: number): { bytes: Uint8Array; at: number } | undefined {
    if (position + length > this.#limit) return undefined;
    if (position >= this.#start && position + length <= this.#start + this.#length) return { bytes: this.#buffer, at: position - this.#start };
    const want = Math.min(Math.max(length, ahead), this.#limit - position);
    if (this.#lent || this.#buffer.length < want) this.#buffer = new Uint8Array(Math.max(want, MIN_READ_AHEAD_BYTES));
    this.#lent = false;
    const got = readFully(this.#handle, this.#buffer, want, position);
    this.#start = position;
    this.#length = got;
    return got >= length ? { bytes: this.#buffer, at: 0 } : undefined;
  }

  /** Views into the current buffer outlive its next read: that one takes a new buffer. */
  lend(): void {
    this.#lent = true;
  }
}

/**
 * Visits the batches of `segment` holding offsets from `fromOffset` up to (not including)
 * `upToOffset`, in order. Throws CORRUPT_SEGMENT (found: 'read') for a header out of sequence or
 * a payload read that fails its CRC.
 */
export function walkSegment(segment: Segment, handle: FileHandle, fromOffset: number, upToOffset: number, want: WantPayload, visit: WalkVisitor): void {
  const start = segment.index.floor(fromOffset);
  const reader = new ReusedWindow(handle, segment.sizeBytes);
  const corrupt = (position: number, reason: string): CorruptSegmentError => new CorruptSegmentError(segment.path, position, reason, { found: 'read' });
  let position = start.position;
  let expected = start.offset;
  // Taken as large until the headers show otherwise; a small control record among large batches
  // does not make the walk read ahead over their payloads.
  let typical = 16 * LARGE_BATCH_BYTES;
  let ahead = HEADER_BYTES;
  while (position < segment.sizeBytes) {
    const head = reader.window(position, HEADER_BYTES, ahead);
    if (!head || checkHeader(head.bytes, head.at, HEADER_BYTES)) throw corrupt(position, 'bad header');
    const header = decodeHeader(head.bytes, head.at);
    if (header.baseOffset !== expected || header.recordCount < 1 || position + header.length > segment.sizeBytes) throw corrupt(position, 'batch out of sequence');
    if (header.baseOffset >= upToOffset) return;
    expected += header.recordCount;
    typical = (7 * typical + header.length) / 8;
    ahead = readAhead(typical);
    if (expected > fromOffset) {
      if (want(header)) {
        const whole = reader.window(position, header.length, ahead);
        if (!whole) throw corrupt(position, 'truncated batch');
        if (!crcMatches(whole.bytes, whole.at, header)) throw corrupt(position, 'crc mismatch');
        reader.lend();
        visit(header, whole.bytes.subarray(whole.at + HEADER_BYTES, whole.at + header.length));
      } else visit(header, undefined);
    }
    position += header.length;
  }
  if (expected !== segment.endOffset) throw corrupt(position, 'segment ends early');
}
