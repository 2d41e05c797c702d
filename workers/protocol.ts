// The wire protocol between the engine (main thread) and a shard worker: one MessagePort per
// shard, requests and replies as plain data (discriminated by `op`, and by `ok` on replies). Every
// partition operation travels as one command of core's partition protocol; the requests of one
// turn cross the port together, in order. Imported by both sides; it imports only types, so the
// thread boundary stays a file boundary.
import type { MessagePort } from 'node:worker_threads';
import type { FerryErrorWire } from '../wal/index.ts';
import type { PartitionCommand, PartitionLimits, ResolvedTopicOptions } from '../core/index.ts';
import { packCommand, packReplyValue, replyValueTransfer } from './wire-columns.ts';

/** Requests the engine sends to a shard. */
export type ShardRequest =
  | { readonly op: 'openTopic'; readonly id: number; readonly topic: string; readonly options: ResolvedTopicOptions; readonly partitions: readonly number[] }
  | { readonly op: 'command'; readonly id: number; readonly command: PartitionCommand }
  /** Closes a deleted topic's partitions on this shard (the engine removes the files). */
  | { readonly op: 'closeTopic'; readonly id: number; readonly topic: string; readonly partitions: readonly number[] }
  /** A heartbeat: a worker that stops answering it is hung, and is restarted. */
  | { readonly op: 'ping'; readonly id: number }
  | { readonly op: 'drill'; readonly id: number; readonly how: FaultDrill; readonly exitCode?: number }
  | { readonly op: 'close'; readonly id: number };

/**
 * A fault drill, for tests and operators: the worker dies on purpose, in one of the ways a real
 * worker dies, so the supervision path (fail in-flight requests, restart, recover) can be exercised.
 * `throw`: an uncaught exception from a timer; `exit`: `process.exit(exitCode)`; `oom`: retains
 * memory until the heap limit (`resourceLimits`) ends the worker with ERR_WORKER_OUT_OF_MEMORY;
 * `hang`: a busy loop that never yields (the heartbeat finds it and the shard is restarted).
 */
export type FaultDrill = 'throw' | 'exit' | 'oom' | 'hang';

/** Every fault drill, to validate an operator's input. */
export const FAULT_DRILLS: readonly FaultDrill[] = ['throw', 'exit', 'oom', 'hang'];

/** A request before the shard numbers it (Omit, distributed over the union). */
export type ShardCall = ShardRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

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

/** Messages on a shard's port, in either direction; requests and replies of one turn go together. */
export type PortMessage =
  | { readonly kind: 'requests'; readonly bodies: readonly ShardRequest[] }
  | { readonly kind: 'replies'; readonly bodies: readonly Reply[] }
  | { readonly kind: 'upcall'; readonly body: DeadLetterUpcall }
  | { readonly kind: 'upcallReply'; readonly body: Reply };

/** What the attach task receives, besides its port. */
export interface ShardConfig {
  readonly shard: number;
  readonly dir: string;
  readonly fsync: 'always' | 'interval' | 'none';
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  readonly zeroFillBytes?: number;
  readonly repair: boolean;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
  readonly seed: number;
}

/** ArrayBuffers a message can move instead of copy (each exactly the bytes it carries). */
export function transferables(message: PortMessage): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const own = (bytes: Uint8Array | undefined): void => {
    if (bytes && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) out.add(bytes.buffer);
  };
  if (message.kind === 'requests') {
    for (const r of message.bodies) {
      if (r.op === 'command' && r.command.op === 'publish') own(r.command.request.payload);
      else if (r.op === 'command' && r.command.op === 'txPrepare') own(r.command.part?.payload); // a transaction's messages (issue 13)
    }
  } else if (message.kind === 'upcall') own(message.body.record);
  else if (message.kind === 'replies') {
    for (const reply of message.bodies) {
      const moved = reply.ok ? replyValueTransfer(reply.value) : undefined; // a fetch's bytes (see wire-columns)
      if (moved) out.add(moved);
    }
  }
  return [...out];
}

/**
 * Posts the requests (or replies) of one turn as one message. If one of them cannot be cloned,
 * posts them one by one, so it does not hold up the others, and hands each that still cannot go
 * to `refused`.
 */
export function postBatch<B extends ShardRequest | Reply>(port: MessagePort, kind: B extends Reply ? 'replies' : 'requests', given: readonly B[], refused: (body: B, error: unknown) => void): void {
  const bodies = given.map((b) => packBody(b));
  const message = { kind, bodies } as PortMessage;
  try {
    port.postMessage(message, transferables(message));
    return;
  } catch {
    // fall through: one by one
  }
  for (const body of bodies) {
    const one = { kind, bodies: [body] } as PortMessage;
    try {
      port.postMessage(one, transferables(one));
    } catch (error) {
      refused(body, error);
    }
  }
}

/** A request or reply with its per-message parts as columns (see wire-columns; the receiver unpacks them). */
function packBody<B extends ShardRequest | Reply>(body: B): B {
  if ('op' in body) return body.op === 'command' ? ({ ...body, command: packCommand(body.command) } as B) : body;
  return body.ok ? ({ ...body, value: packReplyValue(body.value) } as B) : body;
}

/** Rough bytes a request holds while it waits for a restarting shard (its payload, or a small constant). */
export function requestBytes(call: ShardCall): number {
  if (call.op === 'command' && call.command.op === 'publish') return call.command.request.payload.byteLength + 256;
  if (call.op === 'command' && call.command.op === 'settle') return 64 * call.command.items.length + 256;
  if (call.op === 'command' && call.command.op === 'txPrepare') return (call.command.part?.payload.byteLength ?? 0) + 64 * call.command.acks.length + 256;
  return 256;
}
