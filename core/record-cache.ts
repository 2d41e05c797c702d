// Records a partition actor has read but not yet handed out, bounded by bytes: a fetch scans a
// whole batch but delivers only what it was asked for, and the rest must not cost a re-read (and
// a re-checksum) of the whole batch each. Misses fall back to the log, keeping the last batch read.
import type { WriteAheadLog } from '../wal/index.ts';
import { messageSlices } from './codec.ts';
import { RecordType } from './records.ts';

export interface CachedRecord {
  readonly record: Uint8Array;
  readonly publishedAt: number;
}

export class RecordCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<number, CachedRecord>();
  #bytes = 0;
  #lastBatch: { base: number; end: number; records: Uint8Array[]; publishedAt: number } | undefined;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Keeps a record just scanned; the oldest go first once over the byte budget. */
  put(offset: number, entry: CachedRecord): void {
    if (this.#entries.has(offset)) return;
    this.#entries.set(offset, entry);
    this.#bytes += entry.record.length;
    for (const [old, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(old);
      this.#bytes -= e.record.length;
    }
  }

  /** The record at `offset`: from the cache (and out of it), else read from `log`. */
  take(offset: number, log: WriteAheadLog, where: string): CachedRecord {
    const hit = this.#entries.get(offset);
    if (hit) {
      this.#entries.delete(offset);
      this.#bytes -= hit.record.length;
      return hit;
    }
    return this.read(offset, log, where);
  }

  /** Reads the record at `offset` from the log, reusing the last batch read when it holds it. */
  read(offset: number, log: WriteAheadLog, where: string): CachedRecord {
    let batch = this.#lastBatch;
    if (!batch || offset < batch.base || offset >= batch.end) {
      const [b] = log.read(offset, { maxBytes: 1 });
      if (!b || b.type !== RecordType.DATA) throw new Error(`${where} has no message at offset ${offset}`);
      batch = { base: b.baseOffset, end: b.baseOffset + b.recordCount, records: messageSlices(b.payload), publishedAt: b.timestamp };
      this.#lastBatch = batch;
    }
    const record = batch.records[offset - batch.base];
    if (!record) throw new Error(`${where} has no message at offset ${offset}`);
    return { record, publishedAt: batch.publishedAt };
  }

  /** Forgets everything below `offset` (deleted by retention). */
  dropBelow(offset: number): void {
    for (const [o, e] of this.#entries) {
      if (o >= offset) continue;
      this.#entries.delete(o);
      this.#bytes -= e.record.length;
    }
    if (this.#lastBatch && this.#lastBatch.base < offset) this.#lastBatch = undefined;
  }
}
