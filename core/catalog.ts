// The engine's catalog: topics (with their options) and producer epochs, kept in a small log of
// its own (`<dir>/_catalog`) so that they survive restarts. Runs on the engine's thread.
//
// Every named producer appends an epoch, so the log grows for ever unless compacted: once it
// passes `compactAfterBytes` (plus twice the last snapshot), a SNAPSHOT of every topic and epoch
// is written (core/snapshot-parts.ts) and, once durable, the segments before it are deleted.
// Loading starts at the latest snapshot.
import { appendRecord } from './append-record.ts';
import { decodeControl, encodeControl } from './codec.ts';
import { forEachBatch, latestSnapshot, writeSnapshot, type ReadableLog, type SnapshotKind } from './snapshot-parts.ts';
import { CorruptStateError } from './state-errors.ts';
import { assertSameTopicOptions, type ResolvedTopicOptions } from './topic-options.ts';
import type { LogOptions, WriteAheadLog } from '../wal/index.ts';

const TOPIC = 1;
const PRODUCER_EPOCH = 2;
/** A topic was deleted: { name }. The same number as SNAPSHOT_PART (given before deletions existed): told apart by shape. */
const TOPIC_DELETED = 3;
const SNAPSHOT_PART = 3;
const SNAPSHOT = 4;

const SNAPSHOT_KIND: SnapshotKind = { what: 'catalog snapshot', partType: SNAPSHOT_PART, finalType: SNAPSHOT, version: 1 };

/**
 * How the catalog's log is opened (besides dir, fs, clock, fsync): small segments, so that
 * compaction can delete the ones before a snapshot soon after writing it.
 */
export const CATALOG_LOG_OPTIONS = { segmentBytes: 64 * 1024, lock: false } as const satisfies Partial<LogOptions>;

/** Bytes the catalog log may grow past its last snapshot (and twice that snapshot) before it is compacted. */
export const CATALOG_COMPACT_AFTER_BYTES = 256 * 1024;

interface TopicEntry { readonly name: string; readonly options: ResolvedTopicOptions }
interface EpochEntry { readonly id: string; readonly epoch: number }
interface CatalogSnapshot { readonly topics: [string, ResolvedTopicOptions][]; readonly epochs: [string, number][] }

/** Topics and producer epochs, loaded from and appended to the catalog log. */
export class Catalog {
  readonly #log: WriteAheadLog;
  readonly #topics = new Map<string, ResolvedTopicOptions>();
  /**
   * The TOPIC records written and not yet durable (kept when their sync failed): a topic is in
   * memory once its record is written, and asking for it again must wait for the same sync, or a
   * retried createTopic succeeded on a record a power loss then took, with the messages confirmed
   * meanwhile (fresh simulator seed 2056377111).
   */
  readonly #topicDurable = new Map<string, Promise<void>>();
  readonly #epochs = new Map<string, number>();
  readonly #compactAfterBytes: number;
  #snapshotBytes = 0;
  #compacting: Promise<void> | undefined;
  #compactionError: unknown;

  private constructor(log: WriteAheadLog, compactAfterBytes: number) {
    this.#log = log;
    this.#compactAfterBytes = compactAfterBytes;
  }

  /**
   * Reads the catalog from its log: the latest snapshot, then the records after it. Throws
   * CORRUPT_STATE for a record that does not decode as what its type says (nothing is changed).
   */
  static load(log: WriteAheadLog, options: { readonly compactAfterBytes?: number } = {}): Catalog {
    const catalog = new Catalog(log, options.compactAfterBytes ?? CATALOG_COMPACT_AFTER_BYTES);
    const state = readCatalog(log);
    for (const [name, o] of state.topics) catalog.#topics.set(name, o);
    for (const [id, epoch] of state.epochs) catalog.#epochs.set(id, epoch);
    catalog.#snapshotBytes = state.snapshotBytes;
    return catalog;
  }

  topic(name: string): ResolvedTopicOptions | undefined {
    return this.#topics.get(name);
  }

  topics(): [string, ResolvedTopicOptions][] {
    return [...this.#topics];
  }

  /** The current epoch of each named producer. */
  epochs(): [string, number][] {
    return [...this.#epochs];
  }

  /** Records a new topic durably; true if it was new, false if it existed with the same options. */
  async addTopic(name: string, options: ResolvedTopicOptions, now: number): Promise<boolean> {
    const existing = this.#topics.get(name);
    if (existing) {
      assertSameTopicOptions(name, existing, options);
      await this.#topicDurable.get(name); // rejects as the first did if its sync failed
      return false;
    }
    const durable = appendRecord(this.#log, { type: TOPIC, recordCount: 1, payload: encodeControl({ name, options }), timestamp: now }, () => this.#topics.set(name, options));
    if (this.#topics.has(name)) {
      this.#topicDurable.set(name, durable);
      // A failed one stays (the log is failed for good); a later record of the name keeps its own.
      durable.then(() => this.#topicDurable.get(name) === durable && this.#topicDurable.delete(name), () => {});
    }
    await durable;
    this.#compactIfLarge(now);
    return true;
  }

  /**
   * Records an existing topic's new options durably (ferry.alterTopic): a TOPIC record again, which
   * loading applies over the earlier one. False if there is no such topic.
   */
  async alterTopic(name: string, options: ResolvedTopicOptions, now: number): Promise<boolean> {
    if (!this.#topics.has(name)) return false;
    await appendRecord(this.#log, { type: TOPIC, recordCount: 1, payload: encodeControl({ name, options }), timestamp: now }, () => this.#topics.set(name, options));
    this.#compactIfLarge(now);
    return true;
  }

  /** Records durably that a topic is gone; false if there was none. */
  async removeTopic(name: string, now: number): Promise<boolean> {
    if (!this.#topics.has(name)) return false;
    await appendRecord(this.#log, { type: TOPIC_DELETED, recordCount: 1, payload: encodeControl({ name }), timestamp: now }, () => this.#topics.delete(name));
    this.#compactIfLarge(now);
    return true;
  }

  /** The latest epoch given to producer `id` (-1 if none). */
  epochOf(id: string): number {
    return this.#epochs.get(id) ?? -1;
  }

  /** Gives producer `id` a new epoch (fencing older instances), durably. */
  async bumpEpoch(id: string, now: number): Promise<number> {
    const epoch = (this.#epochs.get(id) ?? -1) + 1;
    await appendRecord(this.#log, { type: PRODUCER_EPOCH, recordCount: 1, payload: encodeControl({ id, epoch }), timestamp: now }, () => this.#epochs.set(id, epoch));
    this.#compactIfLarge(now);
    return epoch;
  }

  /** Why the last compaction failed, until one succeeds (the next append past the bound retries it). */
  get lastCompactionError(): unknown {
    return this.#compactionError;
  }

  /** Bytes the catalog log holds on disk now. */
  get logBytes(): number {
    return this.#log.segments().reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  /**
   * Starts a compaction (in the background, one at a time) when the log has grown past its bound.
   * The snapshot holds every record written so far, since each is applied in memory as it is
   * written; the segments before it go only once it is durable, so a crash leaves either.
   */
  #compactIfLarge(now: number): void {
    if (this.#compacting || this.logBytes <= this.#compactAfterBytes + 2 * this.#snapshotBytes) return;
    const body: CatalogSnapshot = { topics: [...this.#topics], epochs: [...this.#epochs] };
    this.#compacting = (async () => {
      try {
        const span = await writeSnapshot(this.#log, SNAPSHOT_KIND, body, now);
        await this.#log.deleteBefore(span.at);
        this.#snapshotBytes = span.bytes;
        this.#compactionError = undefined;
      } catch (error) {
        this.#compactionError = error; // kept, and retried by the next append past the bound
      } finally {
        this.#compacting = undefined;
      }
    })();
  }

  /** Waits for a compaction under way, then syncs and closes the log. */
  async close(): Promise<void> {
    await this.#compacting;
    return this.#log.close();
  }
}

/** What a catalog log holds: its topics and epochs, and the size of the snapshot they start from. */
export interface CatalogState {
  readonly topics: ReadonlyMap<string, ResolvedTopicOptions>;
  readonly epochs: ReadonlyMap<string, number>;
  readonly snapshotBytes: number;
}

/**
 * Reads a catalog log (the latest snapshot, then the records after it) without changing it: for
 * loading, and for `ferry verify`. Throws CORRUPT_STATE for a record that does not decode as
 * what its type says.
 */
export function readCatalog(log: ReadableLog): CatalogState {
  const topics = new Map<string, ResolvedTopicOptions>();
  const epochs = new Map<string, number>();
  const snapshot = latestSnapshot<CatalogSnapshot>(log, SNAPSHOT_KIND);
  if (snapshot) {
    const { topics: t, epochs: e } = snapshot.body;
    if (!Array.isArray(t) || !Array.isArray(e)) throw new CorruptStateError('catalog snapshot', log.dir, snapshot.at, 'it lacks its topics or epochs');
    for (const [name, options] of t) topics.set(name, options);
    for (const [id, epoch] of e) epochs.set(id, epoch);
  }
  forEachBatch(log, snapshot?.end ?? log.startOffset, log.nextOffset, (b) => {
    if (b.type === TOPIC) {
      const t = decodeEntry<TopicEntry>(log, b.baseOffset, b.payload, (e) => typeof e.name === 'string' && typeof e.options === 'object' && e.options !== null);
      topics.set(t.name, t.options);
    } else if (b.type === TOPIC_DELETED) {
      // The type is shared with SNAPSHOT_PART: a part here belongs to a snapshot whose final record
      // never came (a crash or a full disk during a compaction), and is never used.
      const e = decodeEntry<{ name?: string; b?: Uint8Array }>(log, b.baseOffset, b.payload, (v) => typeof v.name === 'string' || v.b instanceof Uint8Array);
      if (typeof e.name === 'string') topics.delete(e.name);
    } else if (b.type === PRODUCER_EPOCH) {
      const e = decodeEntry<EpochEntry>(log, b.baseOffset, b.payload, (v) => typeof v.id === 'string' && Number.isSafeInteger(v.epoch));
      epochs.set(e.id, e.epoch);
    }
  });
  return { topics, epochs, snapshotBytes: snapshot?.bytes ?? 0 };
}

function decodeEntry<T>(log: ReadableLog, offset: number, payload: Uint8Array, valid: (value: Partial<T>) => boolean): T {
  let value: unknown;
  try {
    value = decodeControl<unknown>(payload);
  } catch (error) {
    throw new CorruptStateError('catalog', log.dir, offset, `undecodable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || !valid(value as Partial<T>)) throw new CorruptStateError('catalog', log.dir, offset, 'a record of the wrong shape');
  return value as T;
}
