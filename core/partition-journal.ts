// What a partition makes durable about itself: its control records (each counted toward the next
// checkpoint), checkpoints of every group and producer (in parts, versioned), and retention,
// which deletes the segments nothing needs once a checkpoint covers them.
import { readClock } from './clock-reading.ts';
import { encodeControl } from './codec.ts';
import { appendRecords } from './append-record.ts';
import type { GroupState } from './group-state.ts';
import type { PartitionContext } from './partition-api.ts';
import { CHECKPOINT_KIND } from './partition-replay.ts';
import type { OnceKeys } from './once-keys.ts';
import type { PreparedTable } from './partition-transactions.ts';
import type { MessageIdWindow, ProducerTable } from './producer-state.ts';
import type { RecordCache } from './record-cache.ts';
import type { CheckpointRecord } from './records.ts';
import { retentionCut } from './retention.ts';
import { writeSnapshot, type SnapshotSpan } from './snapshot-parts.ts';
import { CheckpointFailedError } from './state-errors.ts';

/** A group's backlog as retention and metrics see it. */
export interface GroupStats {
  readonly group: string;
  readonly cursor: number;
  readonly unsettled: number;
  /** The lowest offset the group still needs (its oldest unsettled message, or its cursor). */
  readonly floor: number;
}

/** The partition's control records, checkpoints and retention. */
export class PartitionJournal {
  readonly #c: PartitionContext;
  readonly #where: string;
  readonly #groups: ReadonlyMap<string, GroupState>;
  readonly #producers: ProducerTable;
  readonly #records: RecordCache;
  readonly #checkOpen: () => void;
  readonly #txs: PreparedTable | undefined;
  readonly #once: OnceKeys | undefined;
  readonly #ids: MessageIdWindow | undefined;
  #recordsSinceCheckpoint = 0;
  /** The latest durable checkpoint, and whether the log has grown since (else a new one is skipped). */
  #lastCheckpoint: SnapshotSpan | undefined;
  #checkpointError: CheckpointFailedError | undefined;
  /** A retention run started by the record count (at most one at a time). */
  #retaining: Promise<void> | undefined;

  constructor(c: PartitionContext, where: string, parts: { groups: ReadonlyMap<string, GroupState>; producers: ProducerTable; records: RecordCache; checkOpen: () => void; txs?: PreparedTable; once?: OnceKeys; ids?: MessageIdWindow }, checkpoint: SnapshotSpan | undefined) {
    this.#c = c;
    this.#where = where;
    this.#groups = parts.groups;
    this.#producers = parts.producers;
    this.#records = parts.records;
    this.#checkOpen = parts.checkOpen;
    this.#txs = parts.txs;
    this.#once = parts.once;
    this.#ids = parts.ids;
    this.#lastCheckpoint = checkpoint;
  }

  /** Logs a state change: `apply` runs only if the record was written; resolves once durable. */
  record(type: number, body: unknown, apply: () => void): Promise<void> {
    return this.recordMany([{ type, body }], apply);
  }

  /** Logs several state changes in one write (all or none); `apply` runs only if they were written; resolves once durable. */
  recordMany(records: readonly { readonly type: number; readonly body: unknown }[], apply: () => void): Promise<void> {
    const timestamp = this.#c.clock.now();
    const inputs = records.map((r) => ({ type: r.type, recordCount: 1, payload: encodeControl(r.body), timestamp }));
    return appendRecords(this.#c.log, inputs, () => {
      apply();
      this.counted(records.length);
    });
  }

  /** Counts appended records; every `checkpointEveryRecords` of them starts a retention run. */
  counted(records: number): void {
    this.#recordsSinceCheckpoint += records;
    if (this.#recordsSinceCheckpoint < this.#c.limits.checkpointEveryRecords || this.#retaining) return;
    // Not swallowed: a failed checkpoint stays in lastCheckpointError until one succeeds, and
    // retention's next run (the runtime's timer, or this count again) retries it. Any other
    // failure here is the log's own, which it reports to the next append.
    this.#retaining = this.retain().then(
      () => (this.#retaining = undefined),
      () => (this.#retaining = undefined),
    );
  }

  /**
   * Appends a snapshot of every group and producer, in parts (core/snapshot-parts.ts: no batch
   * limit caps its size), and resolves with the offset of its first record once durable: replay
   * starts there. Skipped when nothing was appended since the last one, which still holds.
   */
  async #checkpoint(): Promise<number> {
    const log = this.#c.log;
    if (this.#lastCheckpoint && this.#lastCheckpoint.end === log.nextOffset) return this.#lastCheckpoint.at;
    this.#recordsSinceCheckpoint = 0;
    try {
      // Where the window's ids start is taken as the snapshot is appended (same turn): every id at
      // an offset below nextOffset is in the window's map. Not part of state(): it moves with the log.
      const state: CheckpointRecord = { ...this.state(), ...(this.#ids ? { idsFrom: this.#ids.oldestOffset() ?? log.nextOffset } : {}) };
      this.#lastCheckpoint = await writeSnapshot(log, CHECKPOINT_KIND, state, this.#c.clock.now(), this.#c.limits.checkpointPartBytes);
      this.#checkpointError = undefined;
      return this.#lastCheckpoint.at;
    } catch (error) {
      this.#checkpointError = new CheckpointFailedError(this.#where, error);
      throw this.#checkpointError;
    }
  }

  /** Why the last checkpoint failed, until one succeeds. */
  get lastCheckpointError(): CheckpointFailedError | undefined {
    return this.#checkpointError;
  }

  /** Offset of the latest durable checkpoint's first record (where replay starts), if any. */
  get checkpointOffset(): number | undefined {
    return this.#lastCheckpoint?.at;
  }

  /** Writes a checkpoint, then deletes what no group needs (see PartitionActor.retain). */
  async retain(): Promise<number> {
    this.#checkOpen();
    const checkpointAt = await this.#checkpoint();
    const log = this.#c.log;
    const at = readClock(this.#c.clock);
    const stats = this.groupStats();
    const cut = retentionCut({
      segments: log.segments(),
      startOffset: log.startOffset,
      checkpointAt,
      // With no group yet, keep everything for the first one.
      settledBelow: stats.length === 0 ? log.startOffset : Math.min(...stats.map((g) => g.floor)),
      firstDying: Math.min(Number.POSITIVE_INFINITY, ...[...this.#groups.values()].flatMap((g) => g.dying().map((p) => p.offset))),
      options: this.#c.options,
      now: at.wall, // segment timestamps are wall times
    });
    if (cut <= log.startOffset) return 0;
    // Messages that expire unsettled are dropped from every group before their segments go.
    for (const g of this.#groups.values()) g.dropBelow(cut, at.mono);
    this.#records.dropBelow(cut);
    return log.deleteBefore(cut);
  }

  /** Every group's and producer's state, as a checkpoint records it (due times as wall times as of `at`). */
  state(at = readClock(this.#c.clock)): CheckpointRecord {
    const state: CheckpointRecord = { groups: Object.fromEntries([...this.#groups].map(([name, g]) => [name, g.snapshot(at)])), producers: this.#producers.snapshot() };
    // Prepared transactions live in the checkpoint: replay must not need the segments retention deletes.
    const once = this.#once?.snapshot();
    return {
      ...state,
      ...(this.#txs && (this.#txs.nextSeq > 0 || this.#txs.byId.size > 0) ? { txs: this.#txs.snapshot() } : {}),
      ...(once && Object.keys(once).length > 0 ? { once } : {}),
    };
  }

  /** Group names and their backlog, for metrics and retention. */
  groupStats(): GroupStats[] {
    return [...this.#groups.values()].map((g) => {
      let floor = g.cursor;
      for (const offset of g.pending.keys()) floor = Math.min(floor, offset);
      return { group: g.name, cursor: g.cursor, unsettled: g.pending.size, floor };
    });
  }
}
