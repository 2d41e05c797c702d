// The wire protocol between the engine (main thread) and a shard worker: one MessagePort per
// shard, requests and replies as plain data (discriminated by `op`, and by `ok` on replies).
// Imported by both sides; it imports only types, so the thread boundary stays a file boundary.
import type { FerryErrorWire } from '../wal/index.ts';
import type { DeliveredMessage, FetchRequest, PublishReply, PublishRequest } from '../core/partition-actor.ts';
import type { Ordering } from '../core/records.ts';
import type { ResolvedTopicOptions } from '../core/topic-options.ts';

/** Requests the engine sends to a shard. */
export type ShardRequest =
  | { readonly op: 'openTopic'; readonly id: number; readonly topic: string; readonly options: ResolvedTopicOptions; readonly partitions: readonly number[] }
  | { readonly op: 'publish'; readonly id: number; readonly topic: string; readonly partition: number; readonly request: PublishRequest }
  | { readonly op: 'ensureGroup'; readonly id: number; readonly topic: string; readonly partition: number; readonly group: string; readonly ordering: Ordering }
  | { readonly op: 'fetch'; readonly id: number; readonly topic: string; readonly partition: number; readonly request: FetchRequest }
  | { readonly op: 'ackMany'; readonly id: number; readonly acks: readonly AckItem[] }
  | { readonly op: 'nack'; readonly id: number; readonly topic: string; readonly partition: number; readonly group: string; readonly offset: number; readonly token: string; readonly options: { delayMs?: number; error?: string } }
  | { readonly op: 'extend'; readonly id: number; readonly topic: string; readonly partition: number; readonly group: string; readonly offset: number; readonly token: string; readonly ms?: number }
  | { readonly op: 'release'; readonly id: number; readonly topic: string; readonly partition: number; readonly consumerId: string; readonly leases?: boolean }
  | { readonly op: 'drill'; readonly id: number; readonly how: FaultDrill; readonly exitCode?: number }
  | { readonly op: 'close'; readonly id: number };

/**
 * A fault drill, for tests and operators: the worker dies on purpose, in one of the ways a real
 * worker dies, so the supervision path (fail in-flight requests, restart, recover) can be exercised.
 * `throw`: an uncaught exception from a timer; `exit`: `process.exit(exitCode)`; `oom`: retains
 * memory until the heap limit (`resourceLimits`) ends the worker with ERR_WORKER_OUT_OF_MEMORY.
 */
export type FaultDrill = 'throw' | 'exit' | 'oom';

/** Every fault drill, to validate an operator's input. */
export const FAULT_DRILLS: readonly FaultDrill[] = ['throw', 'exit', 'oom'];

/** One ack of an `ackMany` request: the acks of a turn travel to a shard together. */
export interface AckItem {
  readonly topic: string;
  readonly partition: number;
  readonly group: string;
  readonly offset: number;
  readonly token: string;
}

/** A request before the shard numbers it (Omit, distributed over the union). */
export type ShardCall = ShardRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** What each request resolves with. */
export interface ShardReplies {
  openTopic: null;
  publish: PublishReply;
  ensureGroup: null;
  fetch: DeliveredMessage[];
  /** Per ack: null, or why it failed. */
  ackMany: (FerryErrorWire | null)[];
  nack: null;
  extend: null;
  release: null;
  /** Never sent: the worker dies instead of replying. */
  drill: never;
  close: null;
}

/** A shard asks the engine to publish a dead letter to a partition that may live on another shard. */
export interface DeadLetterUpcall {
  readonly op: 'deadLetter';
  readonly id: number;
  readonly topic: string;
  readonly producerKey: string;
  readonly sequence: number;
  readonly record: Uint8Array;
}

/** A reply: the value, or the error as plain data. */
export type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: FerryErrorWire };

/** Messages on a shard's port, in either direction. */
export type PortMessage =
  | { readonly kind: 'request'; readonly body: ShardRequest }
  | { readonly kind: 'reply'; readonly body: Reply }
  | { readonly kind: 'upcall'; readonly body: DeadLetterUpcall }
  | { readonly kind: 'upcallReply'; readonly body: Reply };

/** What the attach task receives, besides its port. */
export interface ShardConfig {
  readonly shard: number;
  readonly dir: string;
  readonly fsync: 'always' | 'interval' | 'none';
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  readonly maxMessageBytes: number;
  readonly limits: import('../core/partition-actor.ts').PartitionLimits;
  readonly seed: number;
}

/** ArrayBuffers a message can move instead of copy (each exactly the bytes it carries). */
export function transferables(message: PortMessage): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const own = (bytes: Uint8Array | undefined): void => {
    if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) out.add(bytes.buffer);
  };
  if (message.kind === 'request' && message.body.op === 'publish') own(message.body.request.payload);
  if (message.kind === 'upcall') own(message.body.record);
  if (message.kind === 'reply' && message.body.ok && Array.isArray(message.body.value)) {
    // A fetch's deliveries (other array replies, such as ackMany's, carry no bytes).
    for (const m of message.body.value as (DeliveredMessage | null)[]) if (m !== null && typeof m === 'object' && 'record' in m) own(m.record);
  }
  return [...out];
}
