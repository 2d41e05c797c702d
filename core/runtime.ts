// The runtime interface: how the engine reaches partition actors. The in-thread runtime
// (local-runtime.ts) hands each command to its actor; the worker-thread runtime (workers/) posts it
// to a shard; the simulator's network delays and drops it. Every partition operation is one
// command of the protocol (partition-protocol.ts), with a deadline.
import type { PartitionCommand, ReplyOf } from './partition-protocol.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** How the engine reaches its partitions, wherever they run. */
export interface PartitionRuntime {
  /**
   * Where the partitions run: 'in-thread' (no hop between a client and its partition: a producer
   * holds what queues while a batch is unanswered and sends it as one), 'worker' (on worker
   * threads: several batches in flight). Absent (the simulator's network): as 'worker'. Two
   * fetches in flight per partition on workers were tried and measured no faster (issue 11).
   */
  readonly placement?: 'in-thread' | 'worker';
  /** Opens (recovering) every partition of a topic; idempotent. */
  openTopic(topic: string, options: ResolvedTopicOptions): Promise<void>;
  /**
   * Runs one command on its partition. Rejects with a retriable REQUEST_TIMEOUT past the
   * command's deadline (the command may still have been applied).
   */
  call<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>>;
  /** Closes every partition of a deleted topic (its files are the engine's to remove); absent: this runtime cannot delete topics. */
  closeTopic?(topic: string): Promise<void>;
  /** Worker restarts so far and shards stopped for good (absent: a runtime without workers). */
  health?(): { readonly restarts: number; readonly failed: number; readonly shards: readonly { readonly restarts: number; readonly failed: boolean }[] };
  /** Syncs and closes every partition; resolves within `timeoutMs` whatever the partitions do. */
  close(timeoutMs?: number): Promise<void>;
}
