// Records a partition actor has read but not yet handed out: a fetch scans a whole batch but
// delivers only what it was asked for, and the rest must not cost a re-read (and a re-checksum)
// of the whole batch each. A scanned batch is kept whole, and each message tracked from it points
// at it until it is settled (no map entry per record). Misses fall back to the log, keeping
// the last batch read. Every partition of a runtime (one thread) draws on one RecordCacheBudget,
// so the memory held is bounded for the runtime, not per partition: the oldest batch of any
// partition goes first.
import { InvalidArgumentError, type WriteAheadLog, showValue } from '../wal/index.ts';
import { messageStarts } from './codec.ts';
import { RecordType } from './records.ts';

/** The record cache budget of a whole engine when `limits.recordCacheBytes` is not given. */
export const DEFAULT_RECORD_CACHE_BYTES = 64 * 1024 * 1024;

/** Where a record lies: bytes [start, end) of a batch payload. */
export interface CachedRecord {
  readonly payload: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly publishedAt: number;
}

/** Throws INVALID_ARGUMENT unless `bytes` is a valid `limits.recordCacheBytes` (0 turns caching off). */
export function checkRecordCacheBytes(bytes: unknown): void {
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) throw new InvalidArgumentError(`limits.recordCacheBytes must be a whole number of bytes, 0 or more (got ${showValue(bytes)})`);
}

/** What the budget keeps of each cached entry (the entry itself: one object per cached batch). */
interface Counted {
  readonly bytes: number;
  /** Its ticket in the budget. */
  seq: number;
  /** The budget dropped it (over budget): it must let go of its bytes. */
  evict(): void;
}

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
    if (this.#bytes <= this.maxBytes) return; // the common case: no iterator per entry
    for (const [oldest, e] of this.#order) {
      if (this.#bytes <= this.maxBytes) break;
      this.#order.delete(oldest);
      this.#bytes -= e.bytes;
      e.evict();
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

/**
 * The records of one batch a scan read, kept for the messages it started tracking until each is
 * settled (a redelivery after a nack or an expiry reads it here, not from the log): a tracked
 * message points at its batch (no map entry or object per record).
 */
export class CachedBatch implements Counted {
  readonly base: number;
  readonly publishedAt: number;
  readonly bytes: number;
  seq = -1;
  /** The batch's payload; undefined once evicted or dropped: its messages are read from the log again. */
  payload: Uint8Array | undefined;
  /** Where its records lie in the payload (see messageStarts). */
  readonly starts: readonly number[];
  /** Tracked messages not yet settled; at 0 its bytes go back to the budget. */
  waiting = 0;
  readonly #cache: RecordCache;

  constructor(cache: RecordCache, base: number, payload: Uint8Array, starts: readonly number[], publishedAt: number) {
    this.#cache = cache;
    this.base = base;
    this.payload = payload;
    this.starts = starts;
    this.publishedAt = publishedAt;
    this.bytes = payload.length;
  }

  evict(): void {
    this.payload = undefined;
    this.#cache.forget(this);
  }

  /** One of its messages was settled (acked, dead-lettered, dropped): the last one lets the batch go. */
  settledOne(): void {
    if (--this.waiting <= 0 && this.payload) this.#cache.drop(this);
  }
}

interface LastBatch extends Counted {
  readonly base: number;
  readonly end: number;
  readonly payload: Uint8Array;
  readonly starts: readonly number[];
  readonly publishedAt: number;
}

// Invariant: whatever leaves #batches or #lastBatch gives its ticket back to the budget, so the
// budget never evicts an entry twice.

/** One partition's cache of scanned records, drawing on its runtime's budget. */
export class RecordCache {
  readonly #budget: RecordCacheBudget;
  /** Batches kept for tracked messages, not yet evicted or emptied. */
  readonly #batches = new Set<CachedBatch>();
  #lastBatch: LastBatch | undefined;

  constructor(budget: RecordCacheBudget) {
    this.#budget = budget;
  }

  /** Keeps the records of a batch just scanned (count its messages with `waiting`); the runtime's oldest go first once over the budget. */
  keep(base: number, payload: Uint8Array, starts: readonly number[], publishedAt: number): CachedBatch {
    const batch = new CachedBatch(this, base, payload, starts, publishedAt);
    // Stored before it is counted: counting may evict it at once (a batch larger than the budget).
    this.#batches.add(batch);
    this.#budget.admit(batch);
    return batch;
  }

  /** @internal Lets a batch go (its messages are all settled): its bytes go back to the budget. */
  drop(batch: CachedBatch): void {
    batch.payload = undefined;
    this.#budget.release(batch.seq);
    this.#batches.delete(batch);
  }

  /** Reads the record at `offset` from the log, reusing the last batch read when it holds it. */
  read(offset: number, log: WriteAheadLog, where: string): CachedRecord {
    let batch = this.#lastBatch;
    if (!batch || offset < batch.base || offset >= batch.end) {
      const [b] = log.read(offset, { maxBytes: 1 });
      if (!b || b.type !== RecordType.DATA) throw new Error(`${where} has no message at offset ${offset}`);
      this.#dropLastBatch();
      const last: LastBatch = { base: b.baseOffset, end: b.baseOffset + b.recordCount, payload: b.payload, starts: messageStarts(b.payload), publishedAt: b.timestamp, bytes: b.payload.length, seq: -1, evict: () => void (this.#lastBatch === last && (this.#lastBatch = undefined)) };
      batch = last;
      this.#lastBatch = batch;
      this.#budget.admit(batch);
    }
    const i = offset - batch.base;
    if (i + 1 >= batch.starts.length) throw new Error(`${where} has no message at offset ${offset}`);
    return { payload: batch.payload, start: batch.starts[i]! + 4, end: batch.starts[i + 1]!, publishedAt: batch.publishedAt };
  }

  /** @internal The budget evicted `batch`. */
  forget(batch: CachedBatch): void {
    this.#batches.delete(batch);
  }

  #dropLastBatch(): void {
    if (this.#lastBatch) this.#budget.release(this.#lastBatch.seq);
    this.#lastBatch = undefined;
  }

  /** Forgets every batch that starts below `offset` (deleted by retention). */
  dropBelow(offset: number): void {
    for (const batch of this.#batches) {
      if (batch.base >= offset) continue;
      batch.payload = undefined;
      this.#batches.delete(batch);
      this.#budget.release(batch.seq);
    }
    if (this.#lastBatch && this.#lastBatch.base < offset) this.#dropLastBatch();
  }

  /** Forgets everything, giving its bytes back to the budget (the partition closed). */
  clear(): void {
    this.dropBelow(Number.POSITIVE_INFINITY);
    this.#dropLastBatch();
  }
}
