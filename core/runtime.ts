// The runtime interface: how the engine reaches partition actors. The in-thread runtime
// (local-runtime.ts) calls them directly; the worker-thread runtime (workers/) reaches them over
// MessagePorts. Everything crossing it is plain data, so both behave the same.
import type { DeliveredMessage, FetchRequest, PublishReply, PublishRequest } from './partition-actor.ts';
import type { Ordering } from './records.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** How the engine reaches its partitions, wherever they run. */
export interface PartitionRuntime {
  /** Opens (recovering) every partition of a topic; idempotent. */
  openTopic(topic: string, options: ResolvedTopicOptions): Promise<void>;
  publish(topic: string, partition: number, request: PublishRequest): Promise<PublishReply>;
  ensureGroup(topic: string, partition: number, group: string, ordering: Ordering): Promise<void>;
  fetch(topic: string, partition: number, request: FetchRequest): Promise<DeliveredMessage[]>;
  ack(topic: string, partition: number, group: string, offset: number, token: string): Promise<void>;
  nack(topic: string, partition: number, group: string, offset: number, token: string, options: { delayMs?: number; error?: string }): Promise<void>;
  extend(topic: string, partition: number, group: string, offset: number, token: string, ms?: number): Promise<void>;
  /**
   * Ends a closing consumer's leases on a partition without charging attempts, and answers its
   * parked fetches. With `leases: false` only the fetches go (a consumer that died keeps its leases).
   */
  release(topic: string, partition: number, consumerId: string, leases?: boolean): Promise<void>;
  /** Syncs and closes every partition. */
  close(): Promise<void>;
}
