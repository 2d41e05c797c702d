// One leased message as a consumer hands it out, and how it settles: through its consumer's
// ordered settle queue on its partition. Runs on the caller's thread.
import { InvalidArgumentError, showValue, type FerryError } from '../wal/index.ts';
import { decodeBodyIn, decodeMetaIn } from './codec.ts';
import { readDeadLetterInfo, type DeadLetterInfo } from './dead-letter.ts';
import { ClosedError, StaleDeliveryError, leaseIsGone } from './errors.ts';
import type { OnceAnswer } from './once-keys.ts';
import { MAX_ERROR_CHARS, type DeliveredMessage, type LeaseToken } from './partition-api.ts';
import type { SettleItem } from './partition-protocol.ts';
import type { SettleAnswer, SettleQueue } from './settle-queue.ts';
import { OnceKeyBusyError } from './transaction-errors.ts';
import { nackOptionsError } from './nack-options.ts';

/** Longest d.once key. */
const MAX_ONCE_KEY_CHARS = 1024;

/** Hears how a delivery's ack or nack ended, instead of a promise per delivery (see LeasedDelivery.settleTo). */
export interface SettleListener {
  applied(d: Delivery): void;
  refused(d: Delivery, error: unknown): void;
}

/** Options of `nack`. */
export interface NackOptions {
  /** Redeliver after this delay (ms, >= 0) instead of the topic's backoff. */
  readonly delayMs?: number;
  /**
   * Why it failed, kept with the message and in its dead letter: what a catch block holds (an
   * `Error`: its name, message and the start of its stack) or any value, or a string.
   */
  readonly error?: unknown;
  /** Dead-letter the message now, whatever its attempt count (as NATS's `term()`). */
  readonly deadLetter?: boolean;
}

/** One leased message. Settle it with exactly one of ack() or nack(); extend() while working. */
export interface Delivery<V = unknown> {
  readonly value: V;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** 1 on the first delivery. */
  readonly attempt: number;
  readonly publishedAt: number;
  /** Set on messages of a dead-letter topic: where they came from and why they died. */
  readonly deadLetter: DeadLetterInfo | undefined;
  /** Resolves once the ack is durable; rejects with STALE_DELIVERY if the lease was lost. */
  ack(): Promise<void>;
  /** A failed attempt: retried after the backoff, dead-lettered after `maxDeliveries`. */
  nack(options?: NackOptions): Promise<void>;
  /** Extends the lease to end `ms` (default: the topic's `ackTimeoutMs`) from now. */
  extend(ms?: number): Promise<void>;
  /**
   * Receiver-side dedupe (issue 13): resolves true if `key` was never recorded for this group on
   * this partition (then it is recorded by this delivery's ack, in the same record), false if an
   * earlier ack recorded it: skip the effect. ONCE_KEY_BUSY (retriable) while another delivery in
   * flight holds the key. An effect made between a crash and the ack can still repeat.
   */
  once(key: string): Promise<boolean>;
}

/** What a delivery needs from its consumer. */
export interface DeliveryOwner {
  readonly group: string;
  /** False once the consumer is closed for good (its remaining leases handed back). */
  accepts(): boolean;
  /** An ack or nack of the delivery was queued: its slot is free (as a broker's prefetch frees at the ack), its answer still pending. */
  settling(d: LeasedDelivery): void;
  /** A queued ack or nack failed for a reason that may pass: the delivery is held again (it may be settled again). */
  unsettling(d: LeasedDelivery): void;
  /** The delivery left the consumer for good (settled durably, or its lease is gone). */
  done(d: LeasedDelivery): void;
  /** Its ack() or nack() promise rejects with `error`: reported as a settle fault (an unawaited ack's refusal is not lost). */
  refused(d: LeasedDelivery, error: unknown): void;
  ackTimeoutMs(topic: string): number;
  /** Monotonic time (Clock.monotonicNow): lease deadlines must not move with the wall clock. */
  now(): number;
  /** Asks the partition about a d.once key (issue 13). */
  once(d: LeasedDelivery, key: string): Promise<OnceAnswer>;
}

/** Where a delivery came from and settles through: shared by the messages of one fetch. */
export interface DeliveryLane {
  readonly topic: string;
  readonly partition: number;
  /** The consumer's ordered settle queue on that partition. */
  readonly queue: SettleQueue;
  readonly ackTimeoutMs: number;
}

/** Why `ms` cannot be an extend's lease (`what`: the call, for the message), or undefined: a positive number, or undefined for the topic's ackTimeoutMs. */
export function extendMsError(what: string, ms: unknown): InvalidArgumentError | undefined {
  if (ms === undefined || (typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) return undefined;
  return new InvalidArgumentError(`${what} ms must be a positive number of ms, or left out for the topic's ackTimeoutMs (got ${showValue(ms)})`);
}

/** What a handler's failure is stored as: a handler that threw undefined says so (a nack given no error stores none). */
export function thrownError(error: unknown): unknown {
  return error === undefined ? 'undefined was thrown (throw an Error to say why the message failed)' : error;
}

/** The text a nack stores for `error`: bounded, whatever the caller threw. */
export function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  let text: string;
  if (typeof error === 'string') text = error;
  else if (error instanceof Error) {
    const head = `${error.name}: ${error.message}`;
    const stack = error.stack?.split('\n').slice(1, 6).join('\n');
    text = stack ? `${head}\n${stack}` : head;
  } else {
    try {
      text = JSON.stringify(error) ?? showValue(error);
    } catch {
      text = showValue(error); // a circular object, a bigint: inspected safely, not "[object Object]"
    }
  }
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}

// The resolvers of the promise `new Promise(captureResolvers)` just made: one executor for every
// ack's promise instead of a closure (and its context) per message; read at once after the call.
let capturedResolve: (() => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;
function captureResolvers(resolve: () => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** A delivery as handed out: decoded once, settled through prototype methods (no closures per message). */
export class LeasedDelivery<V = unknown> implements Delivery<V>, SettleAnswer {
  readonly value: V;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
  readonly publishedAt: number;
  readonly deadLetter: DeadLetterInfo | undefined;
  readonly token: LeaseToken;
  /** @internal The message's encoded size: what its consumer counts against its memory bounds. */
  readonly encodedBytes: number;
  /** When the lease runs out, as far as this consumer knows (its own monotonic clock). */
  deadline: number;
  /** Holds one of the consumer's in-flight slots. */
  holdsSlot = true;
  /** Its ack or nack is queued, not yet answered: counted by the consumer as settling. */
  settling = false;
  /** @internal Its place in its consumer's list of held deliveries (see HeldList). */
  heldPrev: LeasedDelivery<V> | undefined = undefined;
  /** @internal */
  heldNext: LeasedDelivery<V> | undefined = undefined;
  /** @internal */
  isHeld = false;
  /** @internal Where its start item waits in the settle queue (see SettleQueue.start). */
  startTurn = -1;
  startIndex = -1;
  #settled = false;
  /** Keys d.once claimed: recorded with the ack. */
  #onceKeys: string[] | undefined;
  /** The pending ack's or nack's promise (one at a time: #settled refuses a second). */
  #resolve: (() => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #promise: Promise<void> | undefined;
  /** Who hears the answer instead of a promise (see settleTo). */
  #listener: SettleListener | undefined = undefined;
  readonly #owner: DeliveryOwner;
  readonly #queue: SettleQueue;

  /** Decodes the message; throws if it cannot be decoded. `now`: the owner's monotonic time, read by the caller. */
  constructor(lane: DeliveryLane, message: DeliveredMessage, owner: DeliveryOwner, now: number) {
    const meta = decodeMetaIn(message.bytes, message.start, message.end);
    const body = decodeBodyIn(message.bytes, message.start, message.end);
    this.value = body.value as V;
    this.key = meta.key;
    this.headers = body.headers;
    this.id = meta.id;
    this.topic = lane.topic;
    this.partition = lane.partition;
    this.offset = message.offset;
    this.attempt = message.attempt;
    this.publishedAt = message.publishedAt;
    this.deadLetter = readDeadLetterInfo(body.headers);
    this.token = message.token;
    this.encodedBytes = message.end - message.start;
    this.#owner = owner;
    this.#queue = lane.queue;
    this.deadline = now + lane.ackTimeoutMs;
  }

  /** @internal Handed out by the consumer that `owner` belongs to. */
  belongsTo(owner: DeliveryOwner): boolean {
    return this.#owner === owner;
  }

  /** True once ack or nack was accepted. */
  get settled(): boolean {
    return this.#settled;
  }

  ack(): Promise<void> {
    const refused = this.#refuse('ack');
    if (refused) return this.#rejected(refused);
    return this.#settling(this.#ackItem());
  }

  #ackItem(): SettleItem {
    const keys = this.#onceKeys;
    return keys ? { kind: 'ack', offset: this.offset, token: this.token, keys } : { kind: 'ack', offset: this.offset, token: this.token };
  }

  /**
   * @internal Acks (no `failure`) or nacks with `failure.error`, heard by `listener` instead of a
   * promise (run(), ackMany and batches: no promise per message). Returns why it cannot be
   * settled now (already settled, consumer closed), and then `listener` hears nothing.
   */
  settleTo(listener: SettleListener, failure?: { readonly error: unknown }): unknown {
    const refused = this.#refuse(failure ? 'nack' : 'ack');
    if (refused) return refused;
    this.#listener = listener;
    const item: SettleItem = failure ? this.#nackItem(undefined, thrownError(failure.error), false) : this.#ackItem();
    try {
      this.#queue.settle(this, item);
      this.#owner.settling(this);
    } catch (error) {
      this.#listener = undefined;
      return error;
    }
    return undefined;
  }

  once(key: string): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_ONCE_KEY_CHARS) return Promise.reject(new InvalidArgumentError(`once key must be a non-empty string of at most ${MAX_ONCE_KEY_CHARS} characters (got ${showValue(key)})`));
    if (this.#settled) return Promise.reject(new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, once ignored'));
    if (this.#onceKeys?.includes(key)) return Promise.resolve(true);
    return this.#owner.once(this, key).then((answer) => {
      if (answer === 'busy') throw new OnceKeyBusyError(key);
      if (answer === 'first') (this.#onceKeys ??= []).push(key);
      return answer === 'first';
    });
  }

  nack(options: NackOptions = {}): Promise<void> {
    const refusal = nackOptionsError(options);
    if (refusal) return this.#rejected(refusal);
    const refused = this.#refuse('nack');
    if (refused) return this.#rejected(refused);
    return this.#settling(this.#nackItem(options.delayMs, options.error, options.deadLetter === true));
  }

  #nackItem(delayMs: number | undefined, failure: unknown, deadLetter: boolean): SettleItem {
    const error = errorText(failure);
    return {
      kind: 'nack',
      offset: this.offset,
      token: this.token,
      options: { ...(delayMs === undefined ? {} : { delayMs }), ...(error === undefined ? {} : { error }), ...(deadLetter ? { deadLetter } : {}) },
    };
  }

  extend(ms?: number): Promise<void> {
    const badMs = extendMsError('extend', ms);
    if (badMs) return Promise.reject(badMs);
    if (this.#settled) return Promise.reject(new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, extend ignored'));
    if (!this.#owner.accepts()) return Promise.reject(this.#gone());
    const from = this.#owner.now();
    this.startTurn = -1; // an ack after this extend must not overtake it
    return this.#queue.push({ kind: 'extend', offset: this.offset, token: this.token, ...(ms === undefined ? {} : { ms }) }).then(() => {
      this.deadline = Math.max(this.deadline, from + (ms ?? this.#owner.ackTimeoutMs(this.topic)));
    });
  }

  /**
   * @internal A transaction takes over this delivery's ack (issue 13): settled from now on (a
   * second ack or nack is refused). `finish` frees the consumer's slot once the transaction
   * committed or the lease is gone; after any other failure the delivery may be settled again.
   */
  enlist(): { readonly group: string; readonly token: LeaseToken; readonly keys: readonly string[] | undefined; finish(committed: boolean, error?: unknown): void } {
    if (this.#settled) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, ack ignored');
    if (!this.#owner.accepts()) throw this.#gone();
    this.#settled = true;
    return {
      group: this.#owner.group,
      token: this.token,
      keys: this.#onceKeys,
      finish: (committed, error) => {
        if (committed || leaseIsGone(error)) this.#owner.done(this);
        else this.#settled = false;
      },
    };
  }

  /** Why this delivery cannot be settled now, if it cannot; otherwise marks it settled. */
  /**
   * Why a closed consumer refuses: its lease ran out (STALE_DELIVERY, as outside close: a handler
   * that outlived it while close() waited), or close() took it back (CLOSED).
   */
  #gone(): FerryError {
    if (this.#owner.now() >= this.deadline) return new StaleDeliveryError(this.topic, this.partition, this.offset, 'its lease expired');
    return new ClosedError(`consumer of group ${this.#owner.group}`);
  }

  #refuse(what: 'ack' | 'nack'): FerryError | undefined {
    if (this.#settled) return new StaleDeliveryError(this.topic, this.partition, this.offset, `already settled, ${what} ignored`);
    if (!this.#owner.accepts()) return this.#gone();
    this.#settled = true;
    return undefined;
  }

  /** Queues the ack or nack; applied() or refused() follows the partition's answer (this runs once per message). */
  #settling(item: SettleItem): Promise<void> {
    const settled = new Promise<void>(captureResolvers);
    this.#resolve = capturedResolve;
    this.#reject = capturedReject;
    this.#promise = settled;
    try {
      this.#queue.settle(this, item);
      this.#owner.settling(this);
    } catch (error) {
      this.#rejectPromise(error); // as a throw inside an executor would
    }
    return settled;
  }

  /**
   * A refusal as a rejected promise that does not crash the process when nobody awaits it (`for
   * await (const d of consumer) d.ack()` is the fast loop): the consumer's onFault reports it.
   */
  #rejected(error: unknown): Promise<void> {
    const refusal = Promise.reject(error);
    refusal.catch(ignoreRefusal);
    this.#owner.refused(this, error);
    return refusal;
  }

  /** Rejects the pending ack's or nack's promise, marked handled first (see #rejected). */
  #rejectPromise(error: unknown): void {
    const reject = this.#reject;
    const promise = this.#promise;
    this.#resolve = this.#reject = this.#promise = undefined;
    if (!reject) return;
    promise?.catch(ignoreRefusal);
    this.#owner.refused(this, error);
    reject(error);
  }

  /** @internal The partition applied the ack or nack durably. */
  applied(): void {
    this.#owner.done(this);
    const listener = this.#listener;
    if (listener) {
      this.#listener = undefined;
      listener.applied(this);
      return;
    }
    const resolve = this.#resolve;
    this.#resolve = this.#reject = this.#promise = undefined;
    resolve?.();
  }

  /** @internal The ack or nack was refused or failed. */
  refused(error: unknown): void {
    // A lost lease is gone for good; anything else (disk full, a timeout) can be retried.
    if (leaseIsGone(error)) this.#owner.done(this);
    else {
      this.#settled = false;
      this.#owner.unsettling(this);
    }
    const listener = this.#listener;
    if (listener) {
      this.#listener = undefined;
      listener.refused(this, error);
      return;
    }
    this.#rejectPromise(error);
  }
}

function ignoreRefusal(): void {}
