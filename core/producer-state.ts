// Deduplication on one partition: idempotent producers (id + epoch + sequence, as Kafka's) and
// message ids within a time window (as NATS JetStream's Nats-Msg-Id). Both bounded.
import { FerryError, registerErrorCode } from '../wal/index.ts';
import { DedupWindowFullError, ProducerFencedError } from './errors.ts';
import type { ProducerSnapshot } from './records.ts';

/** Batches remembered per producer, so a retried batch gets its original offsets (Kafka keeps 5). */
export const RECENT_BATCHES = 8;

/**
 * How long a producer must have been idle on a partition before the table, full, may forget it.
 * A forgotten producer's retried batch would look new and be stored twice, so only a producer
 * that can no longer retry is forgotten: a producer gives up on a batch after its
 * deliveryTimeoutMs (at most MAX_DELIVERY_TIMEOUT_MS, producer.ts), well within this.
 */
export const PRODUCER_IDLE_MS = 15 * 60_000;

/** Offsets a batch's messages got: the first of a contiguous run, or one per message (some were duplicates). */
export type BatchOffsets = number | readonly number[];

interface ProducerEntry {
  epoch: number;
  lastSequence: number;
  /** When it last had a batch stored (or the table was loaded): it is not forgotten for PRODUCER_IDLE_MS after. */
  activeAt: number;
  /** [baseSequence, count, offsets], oldest first. */
  recent: [number, number, BatchOffsets][];
}

/** A sequence that skips ahead: an earlier batch of this producer never arrived. */
export class SequenceGapError extends FerryError {
  static readonly code = 'SEQUENCE_GAP';
  constructor(producerId: number, expected: number, got: number) {
    super(SequenceGapError.code, `producer ${producerId} sent sequence ${got} where ${expected} was expected; an earlier batch was lost, so reopen the producer (new epoch)`, false, {
      details: { producerId, expected, got },
    });
  }
}

/**
 * A retry of a batch stored long ago: older than the batches the partition remembers, so its
 * offsets are no longer known. Its messages are stored once; they are not confirmed with offsets.
 */
export class DuplicateSequenceError extends FerryError {
  static readonly code = 'DUPLICATE_SEQUENCE';
  constructor(producerId: number, sequence: number, lastSequence: number) {
    super(
      DuplicateSequenceError.code,
      `producer ${producerId}'s batch at sequence ${sequence} was stored already, too long ago for its offsets to be known (the partition is at ${lastSequence}); do not publish these messages again`,
      false,
      { details: { producerId, sequence, lastSequence } },
    );
  }
}

/**
 * The partition already tracks its limit of producers, every one of them recently active: a new
 * one is refused until one has been idle PRODUCER_IDLE_MS (forgetting an active one could store
 * its retried batch twice).
 */
export class ProducersFullError extends FerryError {
  static readonly code = 'PRODUCERS_FULL';
  constructor(limit: number) {
    super(ProducersFullError.code, `this partition tracks ${limit} idempotent producers, all active in the last ${PRODUCER_IDLE_MS / 60_000} minutes; retry later, use fewer producers (reuse one per process), or raise limits.maxProducers`, true, {
      details: { limit },
    });
  }
}

for (const cls of [SequenceGapError, DuplicateSequenceError, ProducersFullError]) registerErrorCode(cls.code, cls as unknown as typeof FerryError);

/** Whether a producer's batch is new or a retry of one already appended (with its offsets). */
export type SequenceCheck = { readonly kind: 'new' } | { readonly kind: 'duplicate'; readonly offsets: readonly number[] };

function expand(offsets: BatchOffsets, count: number): number[] {
  return typeof offsets === 'number' ? Array.from({ length: count }, (_, i) => offsets + i) : [...offsets];
}

/**
 * Idempotent producers seen by one partition: epoch, last sequence and recent batches. Bounded:
 * at the limit the least recently used one is forgotten, but only once it has been idle
 * PRODUCER_IDLE_MS; until then a new producer is refused (PRODUCERS_FULL, retriable).
 */
export class ProducerTable {
  readonly #producers = new Map<number, ProducerEntry>();
  readonly #maxProducers: number;
  /** Monotonic time: a wall-clock step must not make an active producer look idle. */
  readonly #now: () => number;

  constructor(maxProducers: number, now: () => number) {
    this.#maxProducers = maxProducers;
    this.#now = now;
  }

  /** Decides whether a batch of `count` messages is new or a retry; throws when fenced, out of sequence or full. */
  check(producerId: number, epoch: number, baseSequence: number, count: number, name = String(producerId)): SequenceCheck {
    const entry = this.#producers.get(producerId);
    if (!entry && this.#producers.size >= this.#maxProducers) {
      const [, oldest] = this.#producers.entries().next().value!;
      if (this.#now() - oldest.activeAt < PRODUCER_IDLE_MS) throw new ProducersFullError(this.#maxProducers);
    }
    // Unknown (new, or forgotten after PRODUCER_IDLE_MS idle): start from whatever it sends.
    if (!entry || epoch > entry.epoch) return { kind: 'new' };
    if (epoch < entry.epoch) throw new ProducerFencedError(name, epoch, entry.epoch);
    if (baseSequence === entry.lastSequence + 1) return { kind: 'new' };
    if (baseSequence <= entry.lastSequence) {
      const hit = entry.recent.find(([base]) => base === baseSequence);
      // A retry carries the same messages: other bytes under a used sequence are a producer's bug,
      // refused rather than answered with another batch's offsets.
      if (hit && hit[1] !== count) throw new SequenceGapError(producerId, entry.lastSequence + 1, baseSequence);
      // Older than the batches remembered: a duplicate all the same, but with no offsets to give,
      // it is refused rather than confirmed without a place in the log (issue 17).
      if (!hit) throw new DuplicateSequenceError(producerId, baseSequence, entry.lastSequence);
      return { kind: 'duplicate', offsets: expand(hit[2], hit[1]) };
    }
    throw new SequenceGapError(producerId, entry.lastSequence + 1, baseSequence);
  }

  /** Notes a batch and the offsets its messages got (also on replay, with the batch's time `at`). */
  record(producerId: number, epoch: number, baseSequence: number, count: number, offsets: BatchOffsets, at = this.#now()): void {
    let entry = this.#producers.get(producerId);
    if (!entry || epoch > entry.epoch) entry = { epoch, lastSequence: -1, activeAt: at, recent: [] };
    entry.activeAt = Math.max(entry.activeAt, at);
    // Re-inserted on every batch: the map's order is least recently used first. check() made sure
    // the one forgotten here is idle (replay forgets as the live partition did).
    this.#producers.delete(producerId);
    this.#producers.set(producerId, entry);
    if (this.#producers.size > this.#maxProducers) this.#producers.delete(this.#producers.keys().next().value!);
    entry.lastSequence = baseSequence + count - 1;
    entry.recent.push([baseSequence, count, offsets]);
    if (entry.recent.length > RECENT_BATCHES) entry.recent.shift();
  }

  snapshot(): ProducerSnapshot[] {
    return [...this.#producers].map(([id, e]) => [id, e.epoch, e.lastSequence, e.recent.map(([b, n, o]) => [b, n, typeof o === 'number' ? o : [...o]] as [number, number, BatchOffsets])]);
  }

  /**
   * Loads a checkpoint's table, written at `at`: its producers count as active then (no later than
   * their last batch, so none is forgotten too early, and a full table does not refuse new
   * producers for PRODUCER_IDLE_MS after every restart).
   */
  restore(snapshot: readonly ProducerSnapshot[], at = this.#now()): void {
    this.#producers.clear();
    for (const [id, epoch, lastSequence, recent] of snapshot) this.#producers.set(id, { epoch, lastSequence, activeAt: at, recent: recent.map(([b, n, o]) => [b, n, typeof o === 'number' ? o : [...o]]) });
  }
}

/**
 * The dedupe window of message ids, bounded in entries; full of live ids, it pushes back. Its
 * times are monotonic (a wall-clock step neither ends the window early nor stretches it); replay
 * converts the persisted publish times.
 */
export class MessageIdWindow {
  readonly #byId = new Map<string, { offset: number; expiresAt: number }>();
  #windowMs: number;
  readonly #maxIds: number;

  constructor(windowMs: number, maxIds: number) {
    this.#windowMs = windowMs;
    this.#maxIds = maxIds;
  }

  get size(): number {
    return this.#byId.size;
  }

  /**
   * A new window (ferry.alterTopic) for ids added from now on; ids already kept keep their expiry
   * (a shorter window may leave them out of expiry order: #expire then drops them later, lookup
   * still ignores them once expired).
   */
  set windowMs(ms: number) {
    this.#windowMs = ms;
  }

  /** The lowest offset any id kept here points at, if any (what a checkpoint records: replay reads no earlier batch for ids). */
  oldestOffset(): number | undefined {
    let oldest: number | undefined;
    for (const entry of this.#byId.values()) if (oldest === undefined || entry.offset < oldest) oldest = entry.offset;
    return oldest;
  }

  /** The offset of a live earlier message with this id, if any. */
  lookup(id: string, now: number): number | undefined {
    const hit = this.#byId.get(id);
    return hit && hit.expiresAt > now ? hit.offset : undefined;
  }

  /** Throws DEDUP_WINDOW_FULL if `count` more ids would not fit even after dropping expired ones. */
  reserve(count: number, now: number): void {
    if (this.#byId.size + count <= this.#maxIds) return;
    this.#expire(now);
    if (this.#byId.size + count > this.#maxIds) throw new DedupWindowFullError(this.#maxIds);
  }

  /** Remembers `id` for the window from `publishedAt` (monotonic). */
  add(id: string, offset: number, publishedAt: number): void {
    if (this.#windowMs === 0) return;
    this.#byId.delete(id); // re-insert so insertion order stays expiry order
    this.#byId.set(id, { offset, expiresAt: publishedAt + this.#windowMs });
  }

  #expire(now: number): void {
    // Insertion order is publish order, so expired ids are at the front.
    for (const [id, entry] of this.#byId) {
      if (entry.expiresAt > now) break;
      this.#byId.delete(id);
    }
  }
}
