// The partition command protocol: every operation on a partition is one plain-data command in one
// union, answered by one reply type. The in-thread runtime hands commands to the actor, the worker
// runtime posts them to a shard, the simulator's network delays and drops them: the same values
// everywhere, so a new operation is one variant here and one handler in the actor.
import type { FerryErrorWire } from '../wal/index.ts';
import type { DeliveredMessage, FetchRequest, LeaseToken, PublishReply, PublishRequest } from './partition-api.ts';
import type { GroupPosition } from './group-position.ts';
import type { MessageHistory, Position, ReadReply } from './partition-inspect.ts';
import type { PartitionStats } from './partition-stats.ts';
import type { OnceAnswer } from './once-keys.ts';
import type { Ordering } from './records.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/**
 * One step of a consumer's settle queue on a partition. Items of one queue travel in order, so a
 * release never overtakes the acks given before it.
 */
export type SettleItem =
  /** The handler took the delivery: its lease restarts now, and from now on an expiry is charged. */
  | { readonly kind: 'start'; readonly offset: number; readonly token: LeaseToken }
  /** `keys`: recorded with the ack, for d.once (issue 13). */
  | { readonly kind: 'ack'; readonly offset: number; readonly token: LeaseToken; readonly keys?: readonly string[] }
  | { readonly kind: 'nack'; readonly offset: number; readonly token: LeaseToken; readonly options: NackCommandOptions }
  | { readonly kind: 'extend'; readonly offset: number; readonly token: LeaseToken; readonly ms?: number }
  /**
   * Hands leases back without charging an attempt: the listed offsets (deliveries never handed to a
   * handler), or every lease of the consumer when `offsets` is absent; also answers its parked
   * fetches. With `leases: false` only the fetches go (a consumer that died keeps its leases).
   */
  | { readonly kind: 'release'; readonly consumerId: string; readonly offsets?: readonly number[]; readonly leases?: boolean };

/** What a nack carries to the actor (already validated and bounded by the client). */
export interface NackCommandOptions {
  readonly delayMs?: number;
  readonly error?: string;
  /** Dead-letter now, whatever the attempt count. */
  readonly deadLetter?: boolean;
}

/** Every operation on one partition. */
export type PartitionCommand =
  | { readonly op: 'publish'; readonly topic: string; readonly partition: number; readonly request: PublishRequest }
  /** Registers a group (idempotent); a new one starts at `startAt` (default 'earliest'). */
  | { readonly op: 'ensureGroup'; readonly topic: string; readonly partition: number; readonly group: string; readonly ordering: Ordering; readonly startAt?: GroupPosition }
  | { readonly op: 'fetch'; readonly topic: string; readonly partition: number; readonly request: FetchRequest }
  | { readonly op: 'settle'; readonly topic: string; readonly partition: number; readonly group: string; readonly items: readonly SettleItem[] }
  | { readonly op: 'deleteGroup'; readonly topic: string; readonly partition: number; readonly group: string }
  /** The partition's counters, histograms and gauges; with `events`, its pending alert events too (handed over once). */
  | { readonly op: 'stats'; readonly topic: string; readonly partition: number; readonly events?: boolean }
  /** Up to `limit` stored messages from an offset or a time, without a group. */
  | { readonly op: 'read'; readonly topic: string; readonly partition: number; readonly from: Position; readonly limit: number }
  /** One message's life, from the log's records and the groups' state. */
  | { readonly op: 'history'; readonly topic: string; readonly partition: number; readonly offset: number }
  /** Starts an existing group again at `to`, durably (one record); its pending messages, leases and retries are dropped. */
  | { readonly op: 'resetGroup'; readonly topic: string; readonly partition: number; readonly group: string; readonly to: GroupPosition }
  | TxPrepareCommand
  /** The decision of a transaction prepared here: apply it (commit) or drop it. Idempotent. */
  | { readonly op: 'txDecide'; readonly topic: string; readonly partition: number; readonly txId: string; readonly commit: boolean }
  /** d.once(key): was `key` recorded with an ack of the group? If not, the delivery (its current lease) claims it. */
  | { readonly op: 'once'; readonly topic: string; readonly partition: number; readonly group: string; readonly key: string; readonly offset: number; readonly token: LeaseToken }
  /** The transactions prepared here, waiting for their decision. */
  | { readonly op: 'txList'; readonly topic: string; readonly partition: number }
  /** The topic's options changed (ferry.alterTopic, already durable in the catalog): use these from now on. */
  | { readonly op: 'alterTopic'; readonly topic: string; readonly partition: number; readonly options: ResolvedTopicOptions };

/** One part of a transaction on a partition: messages to publish and deliveries to ack, if it commits (issue 13). */
export interface TxPrepareCommand {
  readonly op: 'txPrepare';
  readonly topic: string;
  readonly partition: number;
  readonly txId: string;
  /** Part number within the transaction on this partition (a duplicated request is applied once). */
  readonly k: number;
  readonly part?: { readonly payload: Uint8Array; readonly count: number; readonly ids?: readonly (string | null)[] };
  readonly acks: readonly { readonly group: string; readonly offset: number; readonly token: LeaseToken; readonly keys?: readonly string[] }[];
}

/** The reply of each command. */
export interface PartitionReplies {
  publish: PublishReply;
  ensureGroup: null;
  fetch: DeliveredMessage[];
  /** Per item, in order: null, or why it failed (as plain data, on every runtime). */
  settle: (FerryErrorWire | null)[];
  /** True if the group existed on the partition. */
  deleteGroup: boolean;
  stats: PartitionStats;
  read: ReadReply;
  history: MessageHistory;
  /** null if the group does not exist on the partition; else its floor before and its new cursor. */
  resetGroup: { readonly from: number; readonly to: number } | null;
  txPrepare: null;
  /** True if the transaction was prepared here (false: already decided, or never prepared). */
  txDecide: boolean;
  txList: string[];
  once: OnceAnswer;
  alterTopic: null;
}

/** The reply type of a command. */
export type ReplyOf<C extends PartitionCommand> = PartitionReplies[C['op']];

/** How long any command may take before it fails with a retriable REQUEST_TIMEOUT. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The deadline of a command, from when it is sent: a fetch may long-poll for its `waitMs` too. */
export function commandTimeoutMs(command: PartitionCommand): number {
  return command.op === 'fetch' ? command.request.waitMs + DEFAULT_REQUEST_TIMEOUT_MS : DEFAULT_REQUEST_TIMEOUT_MS;
}
