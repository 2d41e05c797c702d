// One message handed out by a NATS consumer, and how it settles: ack -> +ACK, nack -> -NAK with the
// backoff's delay (or dead-letter on the last attempt), extend -> +WPI (in progress: the server
// restarts AckWait), each confirmed by the server (ack-confirms.ts). The lease is also kept by the client:
// a settle after the deadline is refused (STALE_DELIVERY), since JetStream itself would accept it
// even though the message was redelivered meanwhile. Caller's thread.
import type { JsMsg } from '@nats-io/jetstream';
import { InvalidArgumentError } from '../../wal/index.ts';
import { ClosedError, OnceKeyBusyError, StaleDeliveryError, errorText, extendMsError, nackOptionsError, type DeadLetterInfo, type Delivery, type NackOptions, type ResolvedTopicOptions } from '../../core/index.ts';
import { UnsupportedFeatureError } from './errors.ts';
import type { SettleSignal } from './ack-confirms.ts';
import type { NatsOnceKeys, OnceAsker, OnceClaim } from './once-keys.ts';
import type { Payload } from './payload.ts';

/** What a delivery needs from its consumer. */
export interface NatsDeliveryOwner {
  readonly group: string;
  /** Unique per consumer instance: with the message's sequence and attempt, it names a d.once claim's owner. */
  readonly id: string;
  readonly onceKeys: NatsOnceKeys;
  /** False once the consumer is closed: settles are refused (CLOSED). */
  accepts(): boolean;
  /** Monotonic ms, as deadlines are. */
  now(): number;
  /** The topic's options now (alterTopic changes them while deliveries are held). */
  optionsOf(topic: string): ResolvedTopicOptions | undefined;
  /** Sends +ACK, -NAK with a delay, or +WPI, and waits for the server's confirm. */
  confirm(msg: JsMsg, what: SettleSignal): Promise<void>;
  /** Moves the message to its dead-letter topic (once), then terminates it in the stream. */
  deadLetter(d: JetStreamDelivery, lastError: string | null): Promise<void>;
  backoffMs(options: ResolvedTopicOptions, attempt: number): number;
  /** The settle was confirmed (`nacked`: to be redelivered; `dead`: moved to the dead-letter topic): counts it, frees the slot. */
  settled(d: JetStreamDelivery, outcome: 'acked' | 'nacked' | 'dead'): void;
  /** The lease ran out before a settle: counts it, frees the slot. */
  expired(d: JetStreamDelivery): void;
  /** Its ack() or nack() promise rejects with `error`: reported as a settle fault (an unawaited ack's refusal is not lost). */
  refused(d: JetStreamDelivery, error: unknown): void;
}

/** Longest d.once key (as on the embedded engine). */
const MAX_ONCE_KEY_CHARS = 1024;

/** A safety margin taken off the lease: the server's AckWait started before the message reached us. */
export function leaseMarginMs(ackTimeoutMs: number): number {
  return Math.min(1000, Math.floor(ackTimeoutMs / 10));
}

/** A leased NATS message (see the top of the file). */
export class JetStreamDelivery<V = unknown> implements Delivery<V> {
  readonly value: V;
  readonly key: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly id: string | undefined;
  readonly topic: string;
  readonly partition: number;
  /** The stream's sequence number (increasing per partition, with gaps: one sequence per stream). */
  readonly offset: number;
  readonly attempt: number;
  readonly publishedAt: number;
  readonly deadLetter: DeadLetterInfo | undefined;
  /** Monotonic ms after which this copy is stale. */
  deadline: number;
  /** Wall time of this delivery (for dead-letter info). */
  readonly deliveredAt: number;
  /** Monotonic ms when a handler took it (for the handler histogram). */
  readonly takenAt: number;
  readonly msg: JsMsg;
  readonly payload: Payload;
  /** The topic's options when the message arrived: stand-ins if the topic is no longer known. */
  readonly #options: ResolvedTopicOptions;
  readonly #owner: NatsDeliveryOwner;
  #settled = false;
  /** Keys d.once claimed: recorded as done before the +ACK. */
  #claims: OnceClaim[] | undefined;
  /** The extend in flight: the next one waits for it (one +WPI per delivery at a time). */
  #extending: Promise<void> | undefined;

  constructor(msg: JsMsg, topic: string, partition: number, payload: Payload, options: ResolvedTopicOptions, deadline: number, owner: NatsDeliveryOwner) {
    this.msg = msg;
    this.payload = payload;
    this.#options = options;
    this.value = payload.value as V;
    this.key = payload.key;
    this.headers = payload.headers;
    this.id = payload.id;
    this.topic = topic;
    this.partition = partition;
    this.offset = msg.info.streamSequence;
    this.attempt = msg.info.deliveryCount;
    this.publishedAt = Math.floor(Number(msg.info.timestampNanos) / 1_000_000);
    this.deadLetter = payload.deadLetter;
    this.deadline = deadline;
    this.deliveredAt = Date.now();
    this.takenAt = owner.now();
    this.#owner = owner;
  }

  /** The topic's options now: a settle reads maxDeliveries, backoff and ackTimeoutMs at each use, as on the embedded engine. */
  get options(): ResolvedTopicOptions {
    return this.#owner.optionsOf(this.topic) ?? this.#options;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Who asks about d.once keys: this attempt of this message, and until when its lease runs (wall ms). */
  #asker(): OnceAsker {
    const leaseUntil = Date.now() + Math.max(0, this.deadline - this.#owner.now());
    return { group: this.#owner.group, topic: this.topic, partition: this.partition, owner: `${this.#owner.id}.${this.offset}.${this.attempt}`, leaseUntil };
  }

  /**
   * Receiver-side dedupe (see backends/nats/once-keys.ts): true if `key` was never recorded for
   * this group on this partition (this attempt now claims it; its ack records it before the +ACK),
   * false if an earlier ack recorded it. ONCE_KEY_BUSY while another attempt's live lease claims it.
   */
  async once(key: string): Promise<boolean> {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_ONCE_KEY_CHARS) throw new InvalidArgumentError(`once key must be a non-empty string of at most ${MAX_ONCE_KEY_CHARS} characters`);
    if (this.#settled) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, once ignored');
    if (this.#owner.now() >= this.deadline) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'its lease expired before once');
    if (!this.#owner.accepts()) throw new ClosedError(`consumer of group ${this.#owner.group}`);
    if (this.#claims?.some((c) => c.key === key)) return true;
    const result = await this.#owner.onceKeys.claim(this.#asker(), key);
    if (result.answer === 'busy') throw new OnceKeyBusyError(key);
    if (result.answer === 'first') (this.#claims ??= []).push(result.claim);
    return result.answer === 'first';
  }

  ack(): Promise<void> {
    return this.#reported(
      this.#settle('ack', 'acked', async () => {
        // The keys first: a crash before the +ACK then redelivers a message whose keys say "done".
        if (this.#claims) await this.#owner.onceKeys.record(this.#asker(), this.#claims, this.offset);
        await this.#owner.confirm(this.msg, 'ack');
      }),
    );
  }

  /**
   * A settle's promise whose rejection does not end the process when nobody awaits it (the fast
   * loop does not): reported to the consumer's onFault instead; whoever awaits it still sees it.
   */
  #reported(settle: Promise<void>): Promise<void> {
    settle.catch((error: unknown) => this.#owner.refused(this, error));
    return settle;
  }

  /** Frees this attempt's d.once claims for the redelivery (best effort). */
  async #releaseClaims(): Promise<void> {
    if (this.#claims) await this.#owner.onceKeys.release(this.#asker(), this.#claims);
  }

  nack(options: NackOptions = {}): Promise<void> {
    const refusal = nackOptionsError(options);
    if (refusal) return this.#reported(Promise.reject(refusal));
    const { delayMs, deadLetter } = options ?? {};
    const error = errorText(options?.error) ?? null;
    if (deadLetter === true || this.attempt >= this.options.maxDeliveries) {
      return this.#reported(
        this.#settle('nack', 'dead', async () => {
          await this.#releaseClaims();
          await this.#owner.deadLetter(this, error);
        }),
      );
    }
    const nakDelayMs = delayMs ?? this.#owner.backoffMs(this.options, this.attempt);
    return this.#reported(
      this.#settle('nack', 'nacked', async () => {
        await this.#releaseClaims();
        await this.#owner.confirm(this.msg, { nakDelayMs });
      }),
    );
  }

  async extend(ms?: number): Promise<void> {
    const refused = extendMsError('extend', ms) ?? this.extendLimitError(ms);
    if (refused) throw refused;
    this.#refuseExtend();
    // One +WPI per delivery at a time (which bounds what waits for an answer): a later extend
    // goes out after it, its lease measured from then.
    while (this.#extending) await this.#extending.catch(() => {});
    const from = this.#refuseExtend();
    const sent = (this.#extending = this.#owner.confirm(this.msg, 'working'));
    try {
      await sent;
    } finally {
      if (this.#extending === sent) this.#extending = undefined;
    }
    this.deadline = Math.max(this.deadline, from + this.options.ackTimeoutMs - leaseMarginMs(this.options.ackTimeoutMs));
    if (this.#claims) await this.#owner.onceKeys.extend(this.#asker(), this.#claims, this.offset);
  }

  /** An extend by `ms` that JetStream cannot make (past the topic's AckWait: each +WPI restarts the full AckWait), or undefined. */
  extendLimitError(ms: number | undefined): UnsupportedFeatureError | undefined {
    if (ms === undefined || ms <= this.options.ackTimeoutMs) return undefined;
    return new UnsupportedFeatureError('nats', `extend(${ms}) beyond the topic's ackTimeoutMs (${this.options.ackTimeoutMs})`, 'JetStream restarts the full AckWait on each extend: call extend() again before it ends');
  }

  /** @internal Handed out by the consumer whose deliveries settle through `owner`. */
  belongsTo(owner: NatsDeliveryOwner): boolean {
    return this.#owner === owner;
  }

  /** Throws if an extend cannot be sent now (settled, closed, lease over); else returns now. */
  #refuseExtend(): number {
    if (this.#settled) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'already settled, extend ignored');
    const now = this.#owner.now();
    if (now >= this.deadline) throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'its lease expired before extend');
    if (!this.#owner.accepts()) throw new ClosedError(`consumer of group ${this.#owner.group}`);
    return now;
  }

  /** Refuses a settle that cannot be made now (settled, closed, lease over), else sends it once. */
  async #settle(what: 'ack' | 'nack', outcome: 'acked' | 'nacked' | 'dead', send: () => Promise<void>): Promise<void> {
    if (this.#settled) throw new StaleDeliveryError(this.topic, this.partition, this.offset, `already settled, ${what} ignored`);
    // The lease first: a handler that outlived it while close() waited hears STALE_DELIVERY, as
    // outside close (and as the engine says); CLOSED means close() took the lease back.
    if (this.#owner.now() >= this.deadline) {
      this.#owner.expired(this);
      throw new StaleDeliveryError(this.topic, this.partition, this.offset, 'its lease expired');
    }
    if (!this.#owner.accepts()) throw new ClosedError(`consumer of group ${this.#owner.group}`);
    this.#settled = true;
    try {
      await send();
    } catch (error) {
      this.#settled = false; // a timeout or a lost connection: it may be tried again while the lease lasts
      throw error;
    }
    this.#owner.settled(this, outcome);
  }
}
