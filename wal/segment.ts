// One segment file of a log: its offset range, size, sparse index, and the reads that serve
// consumers. Every batch read is checked against its CRC before it is returned.
import { HEADER_BYTES, checkHeader, crcMatches, decodeHeader } from './batch-format.ts';
import { ChunkReader } from './chunk-reader.ts';
import { CorruptSegmentError } from './errors.ts';
import type { FileHandle } from './seams/file-system.ts';
import type { SparseIndex } from './sparse-index.ts';

/** A batch as read back: header fields and the payload bytes exactly as appended. */
export interface ReadBatch {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly type: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export class Segment {
  readonly baseOffset: number;
  readonly path: string;
  readonly indexPath: string;
  index: SparseIndex;
  /** Bytes of valid batches (the write position of the active segment): the log's end, not the file's. */
  sizeBytes: number;
  /**
   * The file's size: `sizeBytes` plus the zeros written ahead of it (zero-tail.ts). Only the
   * active segment has such a tail; a sealed one is truncated to `sizeBytes` when it rolls.
   */
  fileBytes: number;
  endOffset: number;
  lastCrc: number;
  maxTimestamp: number;
  /** Written since the last sync began. */
  dirty = false;
  /** No more appends go here; its index file is (or will be) saved once it is synced. */
  sealed = false;
  handle: FileHandle | undefined;

  constructor(init: {
    baseOffset: number;
    path: string;
    indexPath: string;
    index: SparseIndex;
    sizeBytes: number;
    /** Default `sizeBytes` (no zero tail). */
    fileBytes?: number;
    endOffset: number;
    lastCrc: number;
    maxTimestamp: number;
    handle?: FileHandle;
  }) {
    this.baseOffset = init.baseOffset;
    this.path = init.path;
    this.indexPath = init.indexPath;
    this.index = init.index;
    this.sizeBytes = init.sizeBytes;
    this.fileBytes = init.fileBytes ?? init.sizeBytes;
    this.endOffset = init.endOffset;
    this.lastCrc = init.lastCrc;
    this.maxTimestamp = init.maxTimestamp;
    this.handle = init.handle;
  }

  /**
   * Appends to `out` the batches holding offsets from `fromOffset` up to (not including)
   * `upToOffset`, at most `maxBytes` of them, except that a first batch is always returned whole.
   * `complete` is false when it stopped for `maxBytes` before the segment's end.
   */
  read(handle: FileHandle, fromOffset: number, upToOffset: number, maxBytes: number, out: ReadBatch[]): { taken: number; complete: boolean } {
    const start = this.index.floor(fromOffset);
    const reader = new ChunkReader(handle, this.sizeBytes, Math.min(Math.max(maxBytes + HEADER_BYTES, 64 * 1024), 4 * 1024 * 1024));
    let position = start.position;
    // Batches skipped on the way are not CRC-checked, so the walk checks that each header starts
    // where the previous one ended: a damaged length or count is reported, never followed.
    let expected = start.offset;
    let taken = 0;
    while (position < this.sizeBytes) {
      const head = reader.window(position, HEADER_BYTES);
      if (!head || checkHeader(head.bytes, head.at, HEADER_BYTES)) throw this.#corrupt(position, 'bad header');
      const header = decodeHeader(head.bytes, head.at);
      if (header.baseOffset !== expected || header.recordCount < 1 || position + header.length > this.sizeBytes) throw this.#corrupt(position, 'batch out of sequence');
      if (header.baseOffset >= upToOffset) return { taken, complete: true };
      expected += header.recordCount;
      if (expected > fromOffset) {
        if (out.length > 0 && taken + header.length > maxBytes) return { taken, complete: false };
        const whole = reader.window(position, header.length);
        if (!whole) throw this.#corrupt(position, 'truncated batch');
        if (!crcMatches(whole.bytes, whole.at, header)) throw this.#corrupt(position, 'crc mismatch');
        out.push({
          baseOffset: header.baseOffset,
          recordCount: header.recordCount,
          type: header.type,
          producerId: header.producerId,
          producerEpoch: header.producerEpoch,
          baseSequence: header.baseSequence,
          timestamp: header.timestamp,
          payload: whole.bytes.subarray(whole.at + HEADER_BYTES, whole.at + header.length),
        });
        taken += header.length;
      }
      position += header.length;
    }
    if (expected !== this.endOffset) throw this.#corrupt(position, 'segment ends early');
    return { taken, complete: true };
  }

  #corrupt(position: number, reason: string): CorruptSegmentError {
    return new CorruptSegmentError(this.path, position, reason, { found: 'read' });
  }
}
