// What a consumer reports through `onFault` (and the engine as the `consumerFailed` event), shared
// by every backend: where it happened (topic, partition, and the message when it concerns one:
// offset and attempt, so a user can find it), and how a listener hears it. Caller's thread.
import { FerryError } from '../wal/index.ts';

/** A fault of the consumer's own traffic with a partition, before any message: joining the group or fetching. */
export interface ConsumerPartitionFault {
  readonly error: FerryError;
  readonly topic: string;
  /** The partition; -1 on NATS for a join, which covers the whole topic. */
  readonly partition: number;
  readonly during: 'join' | 'fetch';
  /** No message is concerned. */
  readonly offset?: undefined;
  readonly attempt?: undefined;
}

/**
 * A fault about one message, in `run()` or `runBatches()`:
 * - `settle`: a handler's outcome could not be applied because its lease was gone (it ran longer
 *   than `ackTimeoutMs` without `extend()`, or finished after `close()`'s deadline), so the message
 *   was or will be delivered again (settle failures of your own `ack()`/`nack()` reach you as their
 *   rejections instead);
 * - `handler`: a handler threw after it had settled its delivery (or, in `runBatches()`, every
 *   delivery of its batch) itself, so its error could not become a nack: `error` is a
 *   HANDLER_THREW whose `cause` is what the handler threw.
 */
export interface ConsumerMessageFault {
  readonly error: FerryError;
  readonly topic: string;
  readonly partition: number;
  readonly during: 'settle' | 'handler';
  /** The message's offset in its partition (on NATS, its stream sequence). For a batch, its first delivery's. */
  readonly offset: number;
  /** The delivery's attempt (1 on the first delivery). */
  readonly attempt: number;
}

/**
 * A fault the consumer survived, for logs and metrics: join and fetch failures are retried with
 * backoff; a message fault (`during: 'settle' | 'handler'`) says where the message is. Narrow on
 * `during` (or test `offset !== undefined`) to read `offset` and `attempt` as numbers.
 */
export type ConsumerFault = ConsumerPartitionFault | ConsumerMessageFault;

/** Where a message fault happened: what a delivery knows of itself. */
export interface FaultPlace {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
}

/** The message fault of `d`. */
export function messageFault(error: FerryError, d: FaultPlace, during: ConsumerMessageFault['during']): ConsumerMessageFault {
  return { error, topic: d.topic, partition: d.partition, during, offset: d.offset, attempt: d.attempt };
}

/** Tells every listener; a listener's own failure is not the consumer's (it must not stop a pump). */
export function tellFault(listeners: Iterable<(fault: ConsumerFault) => void>, fault: ConsumerFault): void {
  for (const listener of listeners) {
    try {
      listener(fault);
    } catch {
      // ignored: see above
    }
  }
}

/**
 * Reports refused acks and nacks as `settle` faults, each error once: a delivery reports the
 * refusal its promise carries (an unawaited ack's is not lost), and a run() handler may rethrow it.
 */
export class SettleFaults {
  readonly #listeners: Iterable<(fault: ConsumerFault) => void>;
  readonly #reported = new WeakSet<FerryError>();

  constructor(listeners: Iterable<(fault: ConsumerFault) => void>) {
    this.#listeners = listeners;
  }

  report(error: unknown, d: FaultPlace): void {
    if (!(error instanceof FerryError) || this.#reported.has(error)) return;
    this.#reported.add(error);
    tellFault(this.#listeners, messageFault(error, d, 'settle'));
  }

  /** A message fault as run() reports it: a settle refusal once (see report), a handler's each time. */
  tell(error: FerryError, d: FaultPlace, during: ConsumerMessageFault['during']): void {
    if (during === 'settle') this.report(error, d);
    else tellFault(this.#listeners, messageFault(error, d, during));
  }
}

/** The `consumerFailed` event of `fault` (both backends emit it for each fault of their consumers). */
export function consumerFailedEvent(group: string, at: number, fault: ConsumerFault): ConsumerFailedEvent {
  const { error, topic, partition, during } = fault;
  const place = fault.offset === undefined ? {} : { offset: fault.offset, attempt: fault.attempt };
  return { type: 'consumerFailed', at, group, topic, partition, during, ...place, code: error.code, message: error.message };
}

/** The `consumerFailed` event: a consumer's fault, as `onFault` hears it, with the group and the error's code and message. */
export interface ConsumerFailedEvent {
  readonly type: 'consumerFailed';
  readonly at: number;
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly during: ConsumerFault['during'];
  /** The message's offset and attempt, for `settle` and `handler` faults. */
  readonly offset?: number;
  readonly attempt?: number;
  readonly code: string;
  readonly message: string;
}
