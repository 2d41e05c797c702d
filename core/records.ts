// The record types of a partition log and the shapes of their control payloads. Data batches and
// the group state changes that follow them live in one log, so one replay rebuilds a partition.

export const RecordType = {
  /** Messages (payload framed by codec.ts). */
  DATA: 1,
  /** A consumer group came into being: { g, ord }. */
  GROUP: 2,
  /** Acknowledged offsets of one group: { g, o: number[] }. */
  ACK: 3,
  /** A failed attempt and when to retry: { g, o, f, due, fd, ld, e }. */
  RETRY: 4,
  /** About to dead-letter, with the dead-letter sequence number to publish under: { g, o, k, ... }. */
  DEAD_INTENT: 5,
  /** Dead-lettered (or dropped, without a dead-letter topic): settled for the group: { g, o }. */
  DEAD: 6,
  /**
   * Completes a checkpoint: a snapshot of every group's state and the producers', replay resets
   * to it. Since format version 2: { v, n }, the snapshot being in the n CHECKPOINT_PART records
   * just before it (core/snapshot-parts.ts); version 1 (no `v`) held the CheckpointRecord inline.
   */
  CHECKPOINT: 7,
  /**
   * An idempotent batch some of whose messages were duplicate ids: { p, e, s, n, o } (producer,
   * epoch, base sequence, count, per-message offsets). Written with its DATA batch in one append.
   */
  PRODUCER: 8,
  /** One piece of an encoded CheckpointRecord: { v, i, n, b } (see CHECKPOINT). */
  CHECKPOINT_PART: 9,
  /** A consumer group was deleted: its state on this partition is gone: { g }. */
  GROUP_DELETED: 10,
  /**
   * A consumer group starts again at `c` (a reset or seek): its state on this partition is
   * replaced, as one record, so a crash leaves the old position or the new one: { g, ord, c }.
   */
  GROUP_RESET: 11,
} as const;

/**
 * Flags of a DATA batch's header. A flag says what a batch lacks, so that batches written before
 * flags existed (0) are read as they always were.
 */
export const DataFlag = {
  /**
   * No message of the batch gave the dedupe window an id: replay skips its payload when it
   * rebuilds the window (it reads every id-carrying batch of the window, and only those).
   */
  NO_IDS: 1,
} as const;

/** The checkpoint format written; replay refuses any other (but reads version 1, inline). */
export const CHECKPOINT_VERSION = 2;

/** Delivery order of a group: 'key' keeps one message per key in flight, 'partition' one per partition. */
export type Ordering = 'none' | 'key' | 'partition';

export interface GroupRecord {
  readonly g: string;
  readonly ord: Ordering;
  /** Where the group starts (GROUP with startAt, GROUP_RESET); absent: the log's start. */
  readonly c?: number;
}
/** `k`: keys recorded with these acks (d.once, issue 13). */
export interface AckRecord { readonly g: string; readonly o: readonly number[]; readonly k?: readonly string[] }
export interface RetryRecord {
  readonly g: string;
  readonly o: number;
  /** Failed attempts so far. */
  readonly f: number;
  /** Not redelivered before this time. */
  readonly due: number;
  readonly fd: number;
  readonly ld: number;
  readonly e: string | null;
}
export interface DeadIntentRecord extends RetryRecord { readonly k: number }
export interface DeadRecord { readonly g: string; readonly o: number }

/** One unsettled message in a checkpoint: [offset, failures, due, firstDelivered, lastDelivered, error, deadSeq, key]. */
export type PendingSnapshot = [number, number, number, number, number, string | null, number, string | null];

export interface GroupSnapshot {
  readonly ord: Ordering;
  readonly cursor: number;
  readonly pending: PendingSnapshot[];
  readonly ahead: number[];
  readonly deadSeq: number;
}

/** Idempotent producer state: [producerId, epoch, lastSequence, recent [baseSeq, count, offsets][]]. */
export type ProducerSnapshot = [number, number, number, [number, number, number | readonly number[]][]];

export interface ProducerRecord { readonly p: number; readonly e: number; readonly s: number; readonly n: number; readonly o: readonly number[] }

export interface CheckpointRecord {
  readonly groups: Record<string, GroupSnapshot>;
  readonly producers: ProducerSnapshot[];
  /** Prepared transactions and the next transaction sequence (absent in checkpoints written before issue 13). */
  readonly txs?: { readonly seq: number; readonly prepared: PreparedTxSnapshot[] };
  /** Keys recorded with acks (d.once), per group: [key, ackedAt] (absent before issue 13). */
  readonly once?: Record<string, [string, number][]>;
  /**
   * Every id in the dedupe window lies at this offset or later (the checkpoint's own offset when
   * the window is empty): replay reads no earlier batch for ids. Absent before issue 11's recovery
   * work: replay then reads every batch of the window for ids, as before.
   */
  readonly idsFrom?: number;
}

// Transactions (issue 13, docs/TRANSACTIONS.md): a transaction's part on a partition is prepared in
// control records (never delivered), and applied once its decision is known.
export const TxRecordType = {
  /** One prepared part of a transaction: TxPrepareRecord. Invisible to consumers (not DATA). */
  TX_PREPARE: 12,
  /** The partition applied (c = 1: its acks, listed again in `a`) or dropped (c = 0) the transaction: { t, c, a }. */
  TX_DONE: 13,
} as const;

/**
 * The producerEpoch header of a DATA batch a committed transaction appended: its producerId header
 * is then the transaction's sequence on this partition (`s`), and its baseSequence -1 (no producer).
 * Replay finds the messages already in by it, when a crash separated the batch from its TX_DONE.
 */
export const TX_APPLY_EPOCH = 0xffffffff;

export interface TxPrepareRecord {
  /** Transaction id. */
  readonly t: string;
  /** The transaction's sequence on this partition (tags its applied DATA batch). */
  readonly s: number;
  /** Part number (a duplicated prepare is applied once). */
  readonly k: number;
  /** Encoded messages (frameMessages), their count and ids; absent for an ack-only part. */
  readonly m?: Uint8Array;
  readonly n: number;
  readonly i?: readonly (string | null)[];
  /** Acks: [group, offset, keys recorded with the ack (d.once)]. */
  readonly a: readonly TxAck[];
}

/** A transaction's ack: [group, offset, keys recorded with it (d.once), if any]. */
export type TxAck = readonly [string, number, (readonly string[])?];

export interface TxDoneRecord { readonly t: string; readonly c: 0 | 1; readonly a: readonly TxAck[] }

/** A prepared transaction in a checkpoint: [id, seq, parts [k, messages|null, n, ids|null][], acks, dataApplied]. */
export type PreparedTxSnapshot = [string, number, [number, Uint8Array | null, number, (string | null)[] | null][], TxAck[], boolean];
