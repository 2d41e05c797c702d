// The partition command protocol: every operation on a partition is one plain-data command in one
// union, answered by one reply type. The in-thread runtime hands commands to the actor, the worker
// runtime posts them to a shard, the simulator's network delays and drops them: the same values
// everywhere, so a new operation is one variant here and one handler in the actor.
import type { FerryErrorWire } from '../wal/index.ts';
import type { DeliveredMessage, FetchRequest, PublishReply, PublishRequest } from './partition-api.ts';
import type { OnceAnswer } from './once-keys.ts';
import type { Ordering } from './records.ts';

/**
 * One step of a consumer's settle queue on a partition. Items of one queue travel in order, so a
 * release never overtakes the acks given before it.
 */
export type SettleItem =
  /** The handler took the delivery: its lease restarts now, and from now on an expiry is charged. */
  | { readonly kind: 'start'; readonly offset: number; readonly token: string }
  /** `keys`: recorded with the ack, for d.once (issue 13). */
  | { readonly kind: 'ack'; readonly offset: number; readonly token: string; readonly keys?: readonly string[] }
  | { readonly kind: 'nack'; readonly offset: number; readonly token: string; readonly options: NackCommandOptions }
  | { readonly kind: 'extend'; readonly offset: number; readonly token: string; readonly ms?: number }
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
  | { readonly op: 'ensureGroup'; readonly topic: string; readonly partition: number; readonly group: string; readonly ordering: Ordering }
  | { readonly op: 'fetch'; readonly topic: string; readonly partition: number; readonly request: FetchRequest }
  | { readonly op: 'settle'; readonly topic: string; readonly partition: number; readonly group: string; readonly items: readonly SettleItem[] }
  | { readonly op: 'deleteGroup'; readonly topic: string; readonly partition: number; readonly group: string }
  | TxPrepareCommand
  /** The decision of a transaction prepared here: apply it (commit) or drop it. Idempotent. */
  | { readonly op: 'txDecide'; readonly topic: string; readonly partition: number; readonly txId: string; readonly commit: boolean }
  /** d.once(key): was `key` recorded with an ack of the group? If not, the delivery (its current lease) claims it. */
  | { readonly op: 'once'; readonly topic: string; readonly partition: number; readonly group: string; readonly key: string; readonly offset: number; readonly token: string }
  /** The transactions prepared here, waiting for their decision. */
  | { readonly op: 'txList'; readonly topic: string; readonly partition: number };

/** One part of a transaction on a partition: messages to publish and deliveries to ack, if it commits (issue 13). */
export interface TxPrepareCommand {
  readonly op: 'txPrepare';
  readonly topic: string;
  readonly partition: number;
  readonly txId: string;
  /** Part number within the transaction on this partition (a duplicated request is applied once). */
  readonly k: number;
  readonly part?: { readonly payload: Uint8Array; readonly count: number; readonly ids?: readonly (string | null)[] };
  readonly acks: readonly { readonly group: string; readonly offset: number; readonly token: string; readonly keys?: readonly string[] }[];
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
  txPrepare: null;
  /** True if the transaction was prepared here (false: already decided, or never prepared). */
  txDecide: boolean;
  txList: string[];
  once: OnceAnswer;
}

/** The reply type of a command. */
export type ReplyOf<C extends PartitionCommand> = PartitionReplies[C['op']];

/** How long any command may take before it fails with a retriable REQUEST_TIMEOUT. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The deadline of a command, from when it is sent: a fetch may long-poll for its `waitMs` too. */
export function commandTimeoutMs(command: PartitionCommand): number {
  return command.op === 'fetch' ? command.request.waitMs + DEFAULT_REQUEST_TIMEOUT_MS : DEFAULT_REQUEST_TIMEOUT_MS;
}
