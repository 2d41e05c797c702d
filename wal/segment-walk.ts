// Walks a segment's batch headers, reading a payload (and checking its CRC) only where the caller
// asks for it: replay after an open needs the headers of every batch but the payloads of few, so it
// reads a fraction of the bytes instead of all of them. Runs on the thread that owns the log.
//
// Headers walked past without their payload are trusted as Segment.read trusts the batches it
// skips (recovery verified the active segment; a sealed one was verified before its index file
// vouched for it), and each must start where the previous one ended: a damaged length or count is
// reported, never followed.
import { HEADER_BYTES, checkHeader, crcMatches, decodeHeader, type BatchHeader } from './batch-format.ts';
import { CorruptSegmentError } from './errors.ts';
import type { FileHandle } from './seams/file-system.ts';
import type { Segment } from './segment.ts';

/** Whether the walk should read (and CRC-check) this batch's payload. */
export type WantPayload = (header: BatchHeader) => boolean;

/** Called for each batch; `payload` (only when asked for) is a view valid during the call only. */
export type WalkVisitor = (header: BatchHeader, payload: Uint8Array | undefined) => void;

/** A read ahead this large serves many small headers per system call... */
const SMALL_BATCHES_READ_BYTES = 256 * 1024;
/** ...and this small one a single header of a large batch, without reading much of its payload. */
const LARGE_BATCHES_READ_BYTES = 4096;
/** Batches at least this large count as large for the next read ahead. */
const LARGE_BATCH_BYTES = 16 * 1024;

/** One reused buffer over a file: views into it are valid until the next `window`. */
class ReusedWindow {
  readonly #handle: FileHandle;
  readonly #limit: number;
  #buffer = new Uint8Array(SMALL_BATCHES_READ_BYTES);
  #start = 0;
  #length = 0;

  constructor(handle: FileHandle, limit: number) {
    this.#handle = handle;
    this.#limit = limit;
  }

  /** Bytes [position, position + length) at `at` in the returned buffer, reading `ahead` bytes when it must read; undefined if the file ends first. */
  window(position: number, length: number, ahead: number): { bytes: Uint8Array; at: number } | undefined {
    if (position + length > this.#limit) return undefined;
    if (position >= this.#start && position + length <= this.#start + this.#length) return { bytes: this.#buffer, at: position - this.#start };
    const want = Math.min(Math.max(length, ahead), this.#limit - position);
    if (this.#buffer.length < want) this.#buffer = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const n = this.#handle.read(this.#buffer, got, want - got, position + got);
      if (n === 0) break;
      got += n;
    }
    this.#start = position;
    this.#length = got;
    return got >= length ? { bytes: this.#buffer, at: 0 } : undefined;
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
  let ahead = SMALL_BATCHES_READ_BYTES;
  while (position < segment.sizeBytes) {
    const head = reader.window(position, HEADER_BYTES, ahead);
    if (!head || checkHeader(head.bytes, head.at, HEADER_BYTES)) throw corrupt(position, 'bad header');
    const header = decodeHeader(head.bytes, head.at);
    if (header.baseOffset !== expected || header.recordCount < 1 || position + header.length > segment.sizeBytes) throw corrupt(position, 'batch out of sequence');
    if (header.baseOffset >= upToOffset) return;
    expected += header.recordCount;
    ahead = header.length >= LARGE_BATCH_BYTES ? LARGE_BATCHES_READ_BYTES : SMALL_BATCHES_READ_BYTES;
    if (expected > fromOffset) {
      if (want(header)) {
        const whole = reader.window(position, header.length, ahead);
        if (!whole) throw corrupt(position, 'truncated batch');
        if (!crcMatches(whole.bytes, whole.at, header)) throw corrupt(position, 'crc mismatch');
        visit(header, whole.bytes.subarray(whole.at + HEADER_BYTES, whole.at + header.length));
      } else visit(header, undefined);
    }
    position += header.length;
  }
  if (expected !== segment.endOffset) throw corrupt(position, 'segment ends early');
}
