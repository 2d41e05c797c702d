// Follows a log directory that another process may be writing, reading only (the `ferry tail
// --follow` command): each poll hands out the batches written since the last, at most `maxBytes`
// of them, so memory stays bounded however far behind the reader is. A batch still being written
// (incomplete) is waited for; a segment retention deleted is skipped for the next one.
import { ChunkReader } from './chunk-reader.ts';
import { HEADER_BYTES } from './batch-format.ts';
import type { ReadBatch } from './segment.ts';
import { segmentBases, segmentPath } from './segment-files.ts';
import { checkBatch } from './segment-scan.ts';
import type { FileSystem } from './seams/file-system.ts';

/** Where to start: an offset, the log's first batch, or the end (only batches written from now on). */
export type FollowStart = number | 'earliest' | 'end';

/** A reading position in a log directory that only moves forward. */
export class LogFollower {
  readonly #fs: FileSystem;
  readonly #dir: string;
  #start: FollowStart;
  /** The segment read now, the byte after the last batch handed out, and the offset expected there. */
  #at: { base: number; position: number; offset: number } | undefined;

  constructor(fs: FileSystem, dir: string, start: FollowStart) {
    this.#fs = fs;
    this.#dir = dir;
    this.#start = start;
  }

  /** The offset the next batch handed out should start at (undefined before the first poll found a segment). */
  get nextOffset(): number | undefined {
    return this.#at?.offset;
  }

  /**
   * Batches written since the last poll (copies: the caller may keep them), at most about
   * `maxBytes`; empty when nothing new is complete yet. A batch that starts before an offset
   * `start` gave is handed out whole: skip its first records.
   */
  poll(maxBytes = 1024 * 1024): ReadBatch[] {
    const bases = this.#fs.exists(this.#dir) ? segmentBases(this.#fs.list(this.#dir)) : [];
    if (bases.length === 0) return [];
    if (!this.#at || !bases.includes(this.#at.base)) this.#at = this.#place(bases);
    const out: ReadBatch[] = [];
    let taken = 0;
    while (taken < maxBytes) {
      const at: { base: number; position: number; offset: number } = this.#at;
      const done = this.#readSegment(at, maxBytes - taken, out);
      taken += done.bytes;
      if (done.stop === 'full') break;
      const next: number | undefined = bases.find((b) => b > at.base);
      // The active segment: wait for more (or for the write under way). A sealed one that stops
      // short of its end is damaged (`ferry verify` reports it): go on with the next.
      if (next === undefined) break;
      this.#at = { base: next, position: 0, offset: next };
    }
    return out;
  }

  /** Where to read first (or again, after retention deleted the segment being read). */
  #place(bases: readonly number[]): { base: number; position: number; offset: number } {
    const start = this.#start;
    if (this.#at) {
      // Retention took the segment being read: go on with the oldest one left after it.
      const base = bases.find((b) => b >= this.#at!.offset) ?? bases.at(-1)!;
      return { base, position: 0, offset: base };
    }
    if (start === 'end') {
      const base = bases.at(-1)!;
      const at = { base, position: 0, offset: base };
      // Skip to the end of what is written now: read and drop, a chunk at a time.
      while (this.#readSegment(at, 1024 * 1024, []).stop === 'full');
      this.#start = at.offset;
      return at;
    }
    const from = start === 'earliest' ? 0 : start;
    const base = [...bases].reverse().find((b) => b <= from) ?? bases[0]!;
    return { base, position: 0, offset: base };
  }

  /**
   * Reads complete batches of one segment from `at` (moving it), up to `maxBytes`. Stops at 'end'
   * (every byte read), 'full' (maxBytes reached) or 'stuck' (an incomplete or bad batch).
   */
  #readSegment(at: { base: number; position: number; offset: number }, maxBytes: number, out: ReadBatch[]): { bytes: number; stop: 'end' | 'full' | 'stuck' } {
    let handle;
    try {
      handle = this.#fs.open(segmentPath(this.#dir, at.base), 'read');
    } catch {
      return { bytes: 0, stop: 'stuck' }; // deleted meanwhile: the next poll places it again
    }
    try {
      const size = handle.size();
      const reader = new ChunkReader(handle, size);
      const from = typeof this.#start === 'number' ? this.#start : 0;
      let bytes = 0;
      while (at.position < size && bytes < maxBytes) {
        const header = checkBatch(reader, at.position, at.offset, undefined);
        if (typeof header === 'string') return { bytes, stop: 'stuck' };
        const whole = reader.window(at.position, header.length)!;
        at.position += header.length;
        at.offset += header.recordCount;
        if (at.offset <= from) continue; // wholly before the start
        bytes += header.length;
        const { baseOffset, recordCount, type, producerId, producerEpoch, baseSequence, timestamp } = header;
        out.push({ baseOffset, recordCount, type, producerId, producerEpoch, baseSequence, timestamp, payload: whole.bytes.slice(whole.at + HEADER_BYTES, whole.at + header.length) });
      }
      return { bytes, stop: at.position >= size ? 'end' : 'full' };
    } finally {
      handle.close();
    }
  }
}
