// A sparse offset -> byte position index for one segment, kept in memory and saved beside a
// sealed segment so reopening does not rescan it. Bounded: one entry per `intervalBytes`.
//
// Index file: u32 magic 'FRYX', u32 crc of the rest, u32 entry count, u32 segment bytes,
// u64 end offset, u32 last batch crc, u32 reserved, u64 max timestamp, then entries of
// (u32 offset - base, u32 byte position).
import { crc32 } from './crc32.ts';

const INDEX_MAGIC = 0x58595246; // 'FRYX'
const INDEX_HEADER_BYTES = 40;
const TWO_32 = 2 ** 32;

/** What a sealed segment's index file records about it besides the entries. */
export interface SealedSegmentFacts {
  readonly sizeBytes: number;
  readonly endOffset: number;
  readonly lastCrc: number;
  readonly maxTimestamp: number;
}

export class SparseIndex {
  readonly #base: number;
  readonly #intervalBytes: number;
  #relOffsets: number[] = [];
  #positions: number[] = [];

  constructor(baseOffset: number, intervalBytes: number) {
    this.#base = baseOffset;
    this.#intervalBytes = intervalBytes;
  }

  get entries(): number {
    return this.#positions.length;
  }

  /** Notes a batch starting at `position`; keeps it only if far enough from the previous entry. */
  observe(baseOffset: number, position: number): void {
    const last = this.#positions.length === 0 ? -Infinity : this.#positions[this.#positions.length - 1]!;
    if (position - last < this.#intervalBytes) return;
    this.#relOffsets.push(baseOffset - this.#base);
    this.#positions.push(position);
  }

  /** The last indexed batch starting at or before `offset` (the segment's start when none). */
  floor(offset: number): { offset: number; position: number } {
    const rel = offset - this.#base;
    let lo = 0;
    let hi = this.#relOffsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#relOffsets[mid]! <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? { offset: this.#base, position: 0 } : { offset: this.#base + this.#relOffsets[found]!, position: this.#positions[found]! };
  }

  /** Serialises the index and the facts of its sealed segment. */
  encode(facts: SealedSegmentFacts): Uint8Array {
    const n = this.#positions.length;
    const bytes = new Uint8Array(INDEX_HEADER_BYTES + n * 8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, INDEX_MAGIC, true);
    view.setUint32(8, n, true);
    view.setUint32(12, facts.sizeBytes, true);
    view.setUint32(16, facts.endOffset % TWO_32, true);
    view.setUint32(20, Math.floor(facts.endOffset / TWO_32), true);
    view.setUint32(24, facts.lastCrc, true);
    view.setUint32(32, facts.maxTimestamp % TWO_32, true);
    view.setUint32(36, Math.floor(facts.maxTimestamp / TWO_32), true);
    for (let i = 0; i < n; i++) {
      view.setUint32(INDEX_HEADER_BYTES + i * 8, this.#relOffsets[i]!, true);
      view.setUint32(INDEX_HEADER_BYTES + i * 8 + 4, this.#positions[i]!, true);
    }
    view.setUint32(4, crc32(bytes.subarray(8)), true);
    return bytes;
  }

  /** Parses an index file; undefined when it is damaged or does not belong to the segment. */
  static decode(bytes: Uint8Array, baseOffset: number, intervalBytes: number): { index: SparseIndex; facts: SealedSegmentFacts } | undefined {
    if (bytes.length < INDEX_HEADER_BYTES) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (view.getUint32(0, true) !== INDEX_MAGIC || view.getUint32(4, true) !== crc32(bytes.subarray(8))) return undefined;
    const n = view.getUint32(8, true);
    if (bytes.length !== INDEX_HEADER_BYTES + n * 8) return undefined;
    const facts: SealedSegmentFacts = {
      sizeBytes: view.getUint32(12, true),
      endOffset: view.getUint32(16, true) + view.getUint32(20, true) * TWO_32,
      lastCrc: view.getUint32(24, true),
      maxTimestamp: view.getUint32(32, true) + view.getUint32(36, true) * TWO_32,
    };
    if (facts.endOffset <= baseOffset) return undefined;
    const index = new SparseIndex(baseOffset, intervalBytes);
    for (let i = 0; i < n; i++) {
      index.#relOffsets.push(view.getUint32(INDEX_HEADER_BYTES + i * 8, true));
      index.#positions.push(view.getUint32(INDEX_HEADER_BYTES + i * 8 + 4, true));
    }
    return { index, facts };
  }
}
