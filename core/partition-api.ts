// What a partition actor takes and gives: its context and limits, and the plain-data requests and
// replies that any runtime (in-thread, worker threads, the simulator) passes to it.
import type { Clock, Random, WriteAheadLog } from '../wal/index.ts';
import type { PartitionMetrics } from './partition-metrics.ts';
import type { RecordCacheBudget } from './record-cache.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** Longest error text a nack may carry (it is stored with the message and in its dead letter). */
export const MAX_ERROR_CHARS = 4096;

/** Bounds of one partition actor. */
export interface PartitionLimits {
  /** Unsettled messages tracked per group; the cursor stops at the limit (backpressure). */
  readonly maxUnsettledPerGroup: number;
  /** Parked long-poll fetches. */
  readonly maxWaiters: number;
  readonly maxDedupIds: number;
  readonly maxProducers: number;
  /** A CHECKPOINT record is written after this many records, to keep replay state small. */
  readonly checkpointEveryRecords: number;
  readonly maxGroups: number;
  /** Transactions prepared at once on one partition, and open at once in an engine (issue 13). Default 10,000. */
  readonly maxOpenTransactions?: number;
  /** Keys d.once keeps per group and partition (the oldest evicted past it). Default 100,000. */
  readonly maxOnceKeys?: number;
  /** How long d.once keeps a key after its ack. Default 7 days. */
  readonly onceKeyTtlMs?: number;
  /** Messages in one transaction. Default 10,000. */
  readonly maxTransactionMessages?: number;
  /** Encoded bytes of one transaction's messages. Default 8 MiB (one partition batch holds them). */
  readonly maxTransactionBytes?: number;
  /**
   * Bytes of scanned, not yet delivered records kept in memory by all the partitions of an engine
   * together (core/record-cache.ts); a worker runtime gives each shard an equal share. Default 64 MiB.
   */
  readonly recordCacheBytes?: number;
  /**
   * Encoded checkpoint bytes per CHECKPOINT_PART record (default 1 MiB). Small values make even
   * small checkpoints span many records: the simulator uses them to tear checkpoints in crashes.
   */
  readonly checkpointPartBytes?: number;
  /**
   * Not a user limit (Ferry.open's `metrics` sets it; `options.limits` refuses it): false stops the
   * partitions measuring durations. It rides with the limits because they reach every runtime,
   * worker shards included, as they are.
   */
  readonly metrics?: boolean;
}

/** Origin and history of a dead-lettered message. */
export interface DeadLetterInfo {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly group: string;
  readonly attempts: number;
  readonly firstDeliveredAt: number;
  readonly lastDeliveredAt: number;
  readonly lastError: string | null;
}

/** Where dead letters go: the host publishes them to the dead-letter topic, idempotently. */
export type DeadLetterSink = (letter: {
  readonly deadLetterTopic: string;
  /** Idempotent producer identity of this (partition, group) and the letter's sequence number. */
  readonly producerKey: string;
  readonly sequence: number;
  readonly record: Uint8Array;
  readonly info: DeadLetterInfo;
}) => Promise<void>;

/** Everything a partition actor is given: its topic, options, seams, log and limits. */
export interface PartitionContext {
  readonly topic: string;
  readonly partition: number;
  readonly options: ResolvedTopicOptions;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: WriteAheadLog;
  readonly limits: PartitionLimits;
  readonly maxMessageBytes: number;
  /** Distinguishes delivery tokens of this run from those of an earlier run of the partition (see LeaseToken). */
  readonly incarnation: number;
  readonly deadLetters?: DeadLetterSink;
  /**
   * The byte budget this partition's record cache shares with every partition of its runtime.
   * Default: a budget of its own, of `limits.recordCacheBytes`.
   */
  readonly recordCache?: RecordCacheBudget;
  /** Where the partition counts (the host may create it first, to count its log's fsyncs). Default: its own. */
  readonly metrics?: PartitionMetrics;
}

/** A batch of already-encoded messages to append. */
export interface PublishRequest {
  readonly payload: Uint8Array;
  readonly count: number;
  /** Message ids, where any message has one (null where not). */
  readonly ids?: readonly (string | null)[];
  readonly producer?: { readonly id: number; readonly epoch: number; readonly baseSequence: number; readonly name: string };
}

/** Offsets of a publish, per message; a duplicate gets the offset of its original. */
export interface PublishReply {
  readonly offsets: readonly number[];
  readonly duplicates: readonly boolean[];
}

/** A consumer's request for leased messages. */
export interface FetchRequest {
  readonly group: string;
  readonly consumerId: string;
  readonly max: number;
  /** Long-poll: wait this long for messages when none are ready. */
  readonly waitMs: number;
}

/**
 * Names one lease of a message: the partition's lease number. A partition numbers its leases up
 * from `incarnation mod 2^29` (incarnations are random), so a delivery of an earlier run (a shard
 * that restarted, the consumer still holding it) matches the lease the next run gives the same
 * message only by chance: about 1 in 2^29 (the string `${incarnation}.${leaseSeq}` it replaced
 * risked 1 in 2^31). A number, not a string: none is built per delivery nor compared by characters
 * per settle; and a small one (below 2^30 for the first half-billion leases of a run), which V8
 * keeps in the object that holds it instead of a heap number per object (16 bytes each).
 */
export type LeaseToken = number;

/** A leased message, as it leaves the actor. */
export interface DeliveredMessage {
  readonly offset: number;
  readonly token: LeaseToken;
  /** 1 on the first delivery. */
  readonly attempt: number;
  /**
   * The record is bytes [start, end) of `bytes`, a buffer the messages of one fetch share (a view
   * per message would be an allocation per message: see recordOf).
   */
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly publishedAt: number;
}

/** The record of a delivered message, as a view of its own. */
export function recordOf(m: DeliveredMessage): Uint8Array {
  return m.bytes.subarray(m.start, m.end);
}
