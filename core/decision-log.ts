// The engine's decision log (`<dir>/_transactions`, issue 13): the one durable record that makes a
// transaction commit, the half transactions begun and not yet decided, and a boot number per run so
// generated transaction ids never repeat. Runs on the engine's thread. Compacted as the catalog is:
// past a bound, a snapshot of what is still needed is written and the segments before it deleted.
import { appendRecord } from './append-record.ts';
import { decodeControl, encodeControl } from './codec.ts';
import { forEachBatch, latestSnapshot, writeSnapshot, type SnapshotKind } from './snapshot-parts.ts';
import type { WriteAheadLog } from '../wal/index.ts';

const BOOT = 1;
const HALF = 2;
const DECISION = 3;
const SNAPSHOT_PART = 4;
const SNAPSHOT = 5;

const SNAPSHOT_KIND: SnapshotKind = { what: 'decision log snapshot', partType: SNAPSHOT_PART, finalType: SNAPSHOT, version: 1 };

/** Bytes the log may grow past its last snapshot (and twice that snapshot) before it is compacted. */
export const DECISION_COMPACT_AFTER_BYTES = 256 * 1024;

/** How the decision log is opened (besides dir, fs, clock, fsync): small segments, for compaction. */
export const DECISION_LOG_OPTIONS = { segmentBytes: 64 * 1024, lock: false } as const;

/** A half transaction begun and not decided: its user id and when it began (wall ms). */
export interface HalfEntry {
  readonly id: string;
  readonly at: number;
}

interface Snapshot {
  readonly boot: number;
  readonly decisions: [string, boolean][];
  readonly halves: [string, HalfEntry][];
}

/** Decisions and half transactions, loaded from and appended to the decision log. */
export class DecisionLog {
  readonly #log: WriteAheadLog;
  #boot = 0;
  /** Decided transactions whose partitions may not all have applied the decision yet. */
  readonly #decisions = new Map<string, boolean>();
  /** Half transactions (by transaction key) begun and not decided. */
  readonly #halves = new Map<string, HalfEntry>();
  /**
   * Decisions written whose sync failed. The log has failed for good (it is reopened with the
   * engine), so this holds at most the decisions in flight at that moment.
   */
  readonly #uncertain = new Set<string>();
  #snapshotBytes = 0;
  #compacting: Promise<void> | undefined;

  private constructor(log: WriteAheadLog) {
    this.#log = log;
  }

  /** Reads the log: its latest snapshot, then the records after it. */
  static load(log: WriteAheadLog): DecisionLog {
    const d = new DecisionLog(log);
    const snapshot = latestSnapshot<Snapshot>(log, SNAPSHOT_KIND);
    if (snapshot) {
      d.#boot = snapshot.body.boot;
      for (const [t, c] of snapshot.body.decisions) d.#decisions.set(t, c);
      for (const [t, h] of snapshot.body.halves) d.#halves.set(t, h);
      d.#snapshotBytes = snapshot.bytes;
    }
    forEachBatch(log, snapshot?.end ?? log.startOffset, log.nextOffset, (b) => {
      if (b.type === BOOT) d.#boot = Math.max(d.#boot, decodeControl<{ n: number }>(b.payload).n);
      else if (b.type === HALF) {
        const r = decodeControl<{ t: string; id: string; at: number }>(b.payload);
        d.#halves.set(r.t, { id: r.id, at: r.at });
      } else if (b.type === DECISION) {
        const r = decodeControl<{ t: string; c: boolean }>(b.payload);
        d.#decisions.set(r.t, r.c);
        d.#halves.delete(r.t);
      }
    });
    return d;
  }

  /** Starts a run: a boot number no earlier run had (durable before any id is made from it). */
  async boot(now: number): Promise<number> {
    const n = this.#boot + 1;
    await this.#append(BOOT, { n }, now, () => (this.#boot = n));
    return n;
  }

  /** Records a half transaction's begin: after a crash it is in doubt, not forgotten. */
  begin(key: string, id: string, now: number): Promise<void> {
    return this.#append(HALF, { t: key, id, at: now }, now, () => this.#halves.set(key, { id, at: now }));
  }

  /**
   * Records the decision; once durable, the transaction committed (or aborted) whatever crashes.
   * Written but not made durable (the log failed its sync): uncertain until the next open, which
   * decides by what the disk kept.
   */
  decide(key: string, commit: boolean, now: number): Promise<void> {
    let written = false;
    const durable = this.#append(DECISION, { t: key, c: commit }, now, () => {
      written = true;
      this.#decisions.set(key, commit);
      this.#halves.delete(key);
    });
    return durable.catch((error: unknown) => {
      if (written) this.#uncertain.add(key);
      throw error;
    });
  }

  /** The decision, if one was recorded and not yet forgotten. */
  decision(key: string): boolean | undefined {
    return this.#decisions.get(key);
  }

  /** The decision was written but its sync failed: nothing may act on it before the next open. */
  uncertain(key: string): boolean {
    return this.#uncertain.has(key);
  }

  /** Every partition applied the decision: it is no longer needed (left out of the next snapshot). */
  forget(key: string): void {
    this.#decisions.delete(key);
  }

  /** Half transactions begun and not decided (in doubt after a restart). */
  halves(): [string, HalfEntry][] {
    return [...this.#halves];
  }

  /** Decided transactions not yet forgotten. */
  decisions(): [string, boolean][] {
    return [...this.#decisions];
  }

  #append(type: number, body: unknown, now: number, apply: () => void): Promise<void> {
    const written = appendRecord(this.#log, { type, recordCount: 1, payload: encodeControl(body), timestamp: now }, apply);
    this.#compactIfLarge(now);
    return written;
  }

  /** Snapshots what is still needed once the log has grown past its bound; then deletes what is before it. */
  #compactIfLarge(now: number): void {
    const bytes = this.logBytes;
    if (this.#compacting || bytes <= DECISION_COMPACT_AFTER_BYTES + 2 * this.#snapshotBytes) return;
    const body: Snapshot = { boot: this.#boot, decisions: [...this.#decisions], halves: [...this.#halves] };
    this.#compacting = (async () => {
      try {
        const span = await writeSnapshot(this.#log, SNAPSHOT_KIND, body, now);
        await this.#log.deleteBefore(span.at);
        this.#snapshotBytes = span.bytes;
      } catch {
        // Retried by the next append past the bound; the log keeps every record meanwhile.
      } finally {
        this.#compacting = undefined;
      }
    })();
  }

  /** Bytes the log holds on disk now. */
  get logBytes(): number {
    return this.#log.segments().reduce((sum, seg) => sum + seg.sizeBytes, 0);
  }

  /** Waits for a compaction under way, then syncs and closes the log. */
  async close(): Promise<void> {
    await this.#compacting;
    return this.#log.close();
  }
}
