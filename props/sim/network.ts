// The simulated Transport: an in-memory network between the engine's clients (producers,
// consumers) and the partition actors. It wraps the in-thread runtime and, on the simulator's
// virtual clock, delays, reorders, duplicates and drops requests and replies. A request whose
// reply never comes fails on the client after a timeout with a retriable error, as a lost
// connection would; the request may still have been applied (or be applied later).
//
//   client ──request──► [drop? dup? delay] ──► actor ──reply──► [drop? delay] ──► client
//                                     timeout (no reply) ──► REQUEST_LOST (retriable)
import type { DeliveredMessage } from '../../core/partition-api.ts';
import type { PartitionCommand, ReplyOf } from '../../core/partition-protocol.ts';
import type { PartitionRuntime } from '../../core/runtime.ts';
import { FerryError, type Clock, type Random } from '../../wal/index.ts';

/** No reply came in time: the request may or may not have been applied. */
export class RequestLostError extends FerryError {
  static readonly code = 'REQUEST_LOST';
  constructor(op: string, topic: string, partition: number) {
    super(RequestLostError.code, `${op} to ${topic}/${partition}: no reply in time (the network lost the request or its reply); retry`, true);
  }
}

/** Fault rates of the network, per message; mutable so a run can heal it. */
export interface NetworkFaults {
  drop: number;
  duplicate: number;
  /** Share of messages that take a timer-driven delay (the rest go on the next turn). */
  delay: number;
  maxDelayMs: number;
}

export const HEALTHY_NETWORK: Readonly<NetworkFaults> = Object.freeze({ drop: 0, duplicate: 0, delay: 0, maxDelayMs: 0 });

/** What the network tells the simulator's history about messages the client never saw. */
export interface NetworkObserver {
  /** A fetch reply that never reached its consumer: these messages are leased, unseen. */
  lostDeliveries(topic: string, partition: number, group: string, messages: readonly DeliveredMessage[]): void;
}

/** How long a client waits for a reply beyond the request's own long-poll wait. */
const REPLY_TIMEOUT_MS = 1500;

/** Counts of what the network did, for the run's summary. */
export interface NetworkStats {
  dropped: number;
  duplicated: number;
  delayed: number;
  timedOut: number;
}

/** A PartitionRuntime seen through a faulty network. */
export class SimulatedNetwork implements PartitionRuntime {
  readonly faults: NetworkFaults;
  readonly stats: NetworkStats = { dropped: 0, duplicated: 0, delayed: 0, timedOut: 0 };
  readonly #inner: PartitionRuntime;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #observer: NetworkObserver;
  #severed = false;

  constructor(inner: PartitionRuntime, clock: Clock, random: Random, faults: NetworkFaults, observer: NetworkObserver) {
    this.#inner = inner;
    this.#clock = clock;
    this.#random = random;
    this.faults = faults;
    this.#observer = observer;
  }

  /**
   * The process crashed: its clients died with it, so nothing reaches them any more (replies in
   * flight included), and what they send goes nowhere.
   */
  sever(): void {
    this.#severed = true;
  }

  /** Sends `fn` after the network's delay, unless dropped; returns false when dropped. */
  #send(fn: () => void, fifo?: string): boolean {
    if (this.#severed) return false;
    if (this.#random.chance(this.faults.drop)) {
      this.stats.dropped++;
      return false;
    }
    let delayMs = 0;
    if (this.faults.maxDelayMs > 0 && this.#random.chance(this.faults.delay)) {
      this.stats.delayed++;
      delayMs = 1 + this.#random.int(this.faults.maxDelayMs);
    }
    if (fifo !== undefined) {
      // Never before an earlier message of the same connection: each waits for the one before it.
      const tail = (this.#fifoTails.get(fifo) ?? Promise.resolve())
        .then(() => new Promise<void>((resolve) => (delayMs > 0 ? this.#clock.setTimer(delayMs, resolve) : this.#clock.defer(resolve))))
        .then(() => {
          if (this.#fifoTails.get(fifo) === tail) this.#fifoTails.delete(fifo);
          fn();
        });
      this.#fifoTails.set(fifo, tail);
    } else if (delayMs > 0) this.#clock.setTimer(delayMs, fn);
    else this.#clock.defer(fn);
    return true;
  }

  /** Per connection (a consumer's settle queue on a partition), its last message on the way. */
  readonly #fifoTails = new Map<string, Promise<void>>();

  /**
   * One request over the network. `apply` runs on the actor's side (once, twice if duplicated,
   * never if dropped); `lost` hears of each reply that does not settle the client's promise.
   */
  #call<T>(op: string, topic: string, partition: number, waitMs: number, apply: () => Promise<T>, lost?: (reply: T) => void, fifo?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: { ok: true; value: T } | { ok: false; error: unknown }): void => {
        if (settled || this.#severed) {
          if (outcome.ok) lost?.(outcome.value);
          return;
        }
        settled = true;
        timer.cancel();
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
      };
      const timer = this.#clock.setTimer(waitMs + REPLY_TIMEOUT_MS, () => {
        if (settled || this.#severed) return;
        settled = true;
        this.stats.timedOut++;
        reject(new RequestLostError(op, topic, partition));
      });
      const deliver = (): void => {
        let applied: Promise<T>;
        try {
          applied = apply();
        } catch (error) {
          applied = Promise.reject(error);
        }
        applied.then(
          (value) => {
            if (!this.#send(() => settle({ ok: true, value }))) lost?.(value);
          },
          (error: unknown) => void this.#send(() => settle({ ok: false, error })),
        );
      };
      this.#send(deliver, fifo);
      if (this.#random.chance(this.faults.duplicate)) {
        this.stats.duplicated++;
        this.#send(deliver, fifo);
      }
    });
  }

  // Control plane (opening topics, closing): not faulted; the engine's own calls.
  openTopic: PartitionRuntime['openTopic'] = (topic, options) => this.#inner.openTopic(topic, options);
  close: PartitionRuntime['close'] = (timeoutMs) => this.#inner.close(timeoutMs);
  /** Deleting a topic closes its partitions (control plane: not faulted). */
  closeTopic = (topic: string): Promise<void> => (this.#inner.closeTopic ? this.#inner.closeTopic(topic) : Promise.reject(new Error('the runtime cannot close topics')));

  call<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    const waitMs = command.op === 'fetch' ? command.request.waitMs : 0;
    // A consumer's settle queue is one connection: its batches arrive in the order they were sent.
    const fifo = command.op === 'settle' ? `${command.topic}/${command.partition}/${command.group}` : undefined;
    const lost =
      command.op === 'fetch'
        ? (reply: ReplyOf<C>) => {
            const messages = reply as DeliveredMessage[];
            if (messages.length > 0) this.#observer.lostDeliveries(command.topic, command.partition, command.request.group, messages);
          }
        : undefined;
    return this.#call(command.op, command.topic, command.partition, waitMs, () => this.#inner.call(command), lost, fifo);
  }
}
