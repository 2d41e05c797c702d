// Records a partition actor has read but not yet handed out: a fetch scans a whole batch but
// delivers only what it was asked for, and the rest must not cost a re-read (and a re-checksum)
// of the whole batch each. Misses fall back to the log, keeping the last batch read. Every
// partition of a runtime (one thread) draws on one RecordCacheBudget, so the memory held is
// bounded for the runtime, not per partition: the oldest record of any partition goes first.
import { InvalidArgumentError, type WriteAheadLog, showValue } from '../wal/index.ts';
import { messageSlices } from './codec.ts';
import { RecordType } from './records.ts';

/** The record cache budget of a whole engine when `limits.recordCacheBytes` is not given. */
export const DEFAULT_RECORD_CACHE_BYTES = 64 * 1024 * 1024;

export interface CachedRecord {
  readonly record: Uint8Array;
  readonly publishedAt: number;
}

/** Throws INVALID_ARGUMENT unless `bytes` is a valid `limits.recordCacheBytes` (0 turns caching off). */
export function checkRecordCacheBytes(bytes: unknown): void {
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) throw new InvalidArgumentError(`limits.recordCacheBytes must be a whole number of bytes, 0 or more (got ${showValue(bytes)})`);
}

/** What the budget keeps of each cached entry (the entry itself: one object per cached record). */
interface Counted {
  readonly cache: RecordCache;
  /** The record's offset, or LAST_BATCH. */
  readonly key: number;
  readonly bytes: number;
  /** Its ticket in the budget. */
  seq: number;
}

/** Key of a cache's last batch read in the budget (record offsets are never negative). */
const LAST_BATCH = -1;

/** The byte budget shared by the record caches of every partition of one runtime (one thread). */
export class RecordCacheBudget {
  readonly maxBytes: number;
  #bytes = 0;
  #seq = 0;
  /** Every cached entry of every partition, oldest first: the first to go when over budget. */
  readonly #order = new Map<number, Counted>();

  constructor(maxBytes: number) {
    checkRecordCacheBytes(maxBytes);
    this.maxBytes = maxBytes;
  }

  /** Bytes cached now, by every partition together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** @internal Counts an entry a cache just stored, giving it its ticket, and evicts the oldest entries (maybe this one) over budget. */
  admit(entry: Counted): void {
    entry.seq = this.#seq++;
    this.#order.set(entry.seq, entry);
    this.#bytes += entry.bytes;
    if (this.#bytes <= this.maxBytes) return; // the common case: no iterator per record
    for (const [oldest, e] of this.#order) {
      if (this.#bytes <= this.maxBytes) break;
      this.#order.delete(oldest);
      this.#bytes -= e.bytes;
      e.cache.evicted(e.key);
    }
  }

  /** @internal An entry left its cache (taken, dropped): its bytes are free again. */
  release(seq: number): void {
    const e = this.#order.get(seq);
    if (!e) return;
    this.#order.delete(seq);
    this.#bytes -= e.bytes;
  }
}

/**
 * `limits` for one of `runtimes` runtimes sharing an engine (the worker shards: each is a runtime
 * of its own, on its own thread): each gets an equal share of the engine's record cache budget.
 */
export function recordCacheShare<L extends { readonly recordCacheBytes?: number }>(limits: L, runtimes: number): L & { readonly recordCacheBytes: number } {
  const total = limits.recordCacheBytes ?? DEFAULT_RECORD_CACHE_BYTES;
  return { ...limits, recordCacheBytes: Math.floor(total / Math.max(1, runtimes)) };
}

interface LastBatch extends Counted {
  readonly base: number;
  readonly end: number;
  readonly records: Uint8Array[];
  readonly publishedAt: number;
}

// Invariant: whatever leaves #entries or #lastBatch gives its ticket back to the budget, so the
// budget never evicts a key whose entry has since been replaced.

/** One partition's cache of scanned records, drawing on its runtime's budget. */
export class RecordCache {
  readonly #budget: RecordCacheBudget;
  readonly #entries = new Map<number, CachedRecord & Counted>();
  #lastBatch: LastBatch | undefined;

  constructor(budget: RecordCacheBudget) {
    this.#budget = budget;
  }

  /** Keeps a record just scanned; the runtime's oldest go first once over the budget. */
  put(offset: number, entry: CachedRecord): void {
    if (this.#entries.has(offset)) return;
    // Stored before it is counted: counting may evict it at once (a record larger than the budget).
    const stored = { record: entry.record, publishedAt: entry.publishedAt, cache: this, key: offset, bytes: entry.record.length, seq: -1 };
    this.#entries.set(offset, stored);
    this.#budget.admit(stored);
  }

  /** The record at `offset`: from the cache (and out of it), else read from `log`. */
  take(offset: number, log: WriteAheadLog, where: string): CachedRecord {
    const hit = this.#entries.get(offset);
    if (hit) {
      this.#entries.delete(offset);
      this.#budget.release(hit.seq);
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
      this.#dropLastBatch();
      const records = messageSlices(b.payload);
      batch = { base: b.baseOffset, end: b.baseOffset + b.recordCount, records, publishedAt: b.timestamp, cache: this, key: LAST_BATCH, bytes: b.payload.length, seq: -1 };
      this.#lastBatch = batch;
      this.#budget.admit(batch);
    }
    const record = batch.records[offset - batch.base];
    if (!record) throw new Error(`${where} has no message at offset ${offset}`);
    return { record, publishedAt: batch.publishedAt };
  }

  /** @internal The budget evicted the entry under `key`. */
  evicted(key: number): void {
    if (key === LAST_BATCH) this.#lastBatch = undefined;
    else this.#entries.delete(key);
  }

  #dropLastBatch(): void {
    if (this.#lastBatch) this.#budget.release(this.#lastBatch.seq);
    this.#lastBatch = undefined;
  }

  /** Forgets everything below `offset` (deleted by retention). */
  dropBelow(offset: number): void {
    for (const [o, e] of this.#entries) {
      if (o >= offset) continue;
      this.#entries.delete(o);
      this.#budget.release(e.seq);
    }
    if (this.#lastBatch && this.#lastBatch.base < offset) this.#dropLastBatch();
  }

  /** Forgets everything, giving its bytes back to the budget (the partition closed). */
  clear(): void {
    this.dropBelow(Number.POSITIVE_INFINITY);
    this.#dropLastBatch();
  }
}
