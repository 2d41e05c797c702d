// A transaction as the user holds it (issue 13): publishes and acks gathered per partition, sent to
// the partitions as prepared parts (at commit, or at once for a half transaction), then committed
// or aborted by the engine's transaction manager (transactions.ts). Runs on the engine's thread.
import { FerryError, InvalidArgumentError, type Clock, type Random, showValue } from '../wal/index.ts';
import { encodeMessage, frameMessages, type Message } from './codec.ts';
import { LeasedDelivery, type Delivery } from './delivery.ts';
import { partitionOf } from './hash.ts';
import type { LeaseToken } from './partition-api.ts';
import type { TxPrepareCommand } from './partition-protocol.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';
import { TransactionAbortedError, TransactionFencedError, TransactionFinishedError, TransactionTooLargeError } from './transaction-errors.ts';

/** What a transaction needs from its manager. */
export interface TransactionHost {
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageBytes: number;
  readonly maxMessages: number;
  readonly maxBytes: number;
  topic(name: string): ResolvedTopicOptions;
  /** Sends one prepared part to its partition; resolves once it is durable there. */
  prepare(command: TxPrepareCommand): Promise<null>;
  commit(tx: Transaction): Promise<void>;
  abort(tx: Transaction, why: string): Promise<void>;
  /** A plain (buffered) transaction, counted among the open ones: merges others (transaction-merge.ts). */
  begin(): Transaction;
  /** `tx` is finished, or in the hands of another: no longer counted among the open ones. */
  forget(tx: Transaction): void;
  /** A half transaction's part failed: abort it, and settle once the abort was recorded (or could not be, on a first try). */
  doom(tx: Transaction, error: unknown): Promise<void>;
}

/** Where a transaction has sent parts, and what it gathers for each partition until it sends them. */
interface PartitionParts {
  readonly topic: string;
  readonly partition: number;
  /** Parts sent so far (the next part's number). */
  sent: number;
  records: Uint8Array[];
  ids: (string | null)[];
  anyId: boolean;
  acks: { group: string; offset: number; token: LeaseToken; keys?: readonly string[] }[];
}

type State = 'open' | 'committing' | 'committed' | 'aborted';

/**
 * A transaction: messages published and deliveries acked through it take effect together when it
 * commits, or not at all. Get one from `ferry.transaction(fn)` (committed when `fn` resolves),
 * `ferry.beginTransaction({ id })` (a half transaction: `commit()` or `abort()` it), or as the
 * second argument of an `exactlyOnce` consumer's handler.
 */
export class Transaction {
  /** The transaction's id: the one given to beginTransaction, or one the engine made. */
  readonly id: string;
  /** @internal Its key in the logs (unique across runs). */
  readonly key: string;
  /** @internal A half transaction: parts are sent (prepared) at once, and it is durable across a crash. */
  readonly half: boolean;
  readonly #host: TransactionHost;
  readonly #parts = new Map<string, PartitionParts>();
  readonly #sending: Promise<null>[] = [];
  readonly #enlisted: ((committed: boolean, error?: unknown) => void)[] = [];
  /** Per topic: the partition of this transaction's messages without a key. */
  readonly #unkeyed = new Map<string, number>();
  readonly #headers: Readonly<Record<string, string>> | undefined;
  #state: State = 'open';
  #fenced = false;
  /** A half transaction whose part failed: settles once its abort is recorded (or the first try failed). */
  #doom: Promise<void> | undefined;
  /** Why a doomed transaction was aborted (its commit, publishes and acks reject with it). */
  #failure: TransactionAbortedError | undefined;
  /** @internal Why the engine aborted it (a timeout, a newer instance), for the error a later call gets. */
  abortReason: string | undefined;
  #messages = 0;
  #bytes = 0;

  /** @internal Made by the engine's transaction manager. */
  constructor(host: TransactionHost, id: string, key: string, half: boolean, headers?: Readonly<Record<string, string>>) {
    this.#host = host;
    this.id = id;
    this.key = key;
    this.half = half;
    this.#headers = headers;
  }

  /** 'open', 'committing', 'committed' or 'aborted'. */
  get state(): State {
    return this.#state;
  }

  /**
   * Publishes `message` to `topic` if the transaction commits. Encoding and limits are checked now
   * (a typed error is thrown). In a half transaction the message is sent to its partition at once
   * (prepared, invisible): await the promise before your own local commit; otherwise it resolves
   * at once and the message is sent at commit.
   */
  publish(topic: string, message: Message): Promise<void> {
    this.#checkOpen();
    const options = this.#host.topic(topic);
    const delayMs = message?.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) throw new InvalidArgumentError(`delayMs must be a finite, non-negative number of milliseconds (got ${showValue(delayMs)})`);
    const withHeaders = this.#headers ? { ...message, headers: { ...message.headers, ...this.#headers } } : message;
    const record = encodeMessage(withHeaders, delayMs > 0 ? this.#host.clock.now() + delayMs : 0, this.#host.maxMessageBytes);
    if (this.#messages + 1 > this.#host.maxMessages) throw new TransactionTooLargeError('messages', this.#host.maxMessages);
    if (this.#bytes + record.length + 4 > this.#host.maxBytes) throw new TransactionTooLargeError('bytes', this.#host.maxBytes);
    this.#messages++;
    this.#bytes += record.length + 4;
    const partition = message.key !== undefined ? partitionOf(message.key, options.partitions) : this.#unkeyedPartition(topic, options.partitions);
    const parts = this.#partsOf(topic, partition);
    parts.records.push(record);
    parts.ids.push(message.id ?? null);
    if (message.id !== undefined) parts.anyId = true;
    return this.#sendIfHalf(parts);
  }

  /**
   * Acks `delivery` if the transaction commits (any group, any topic). Its lease must still be
   * current when the transaction prepares it (at commit; at once in a half transaction), or the
   * commit fails with STALE_DELIVERY and nothing takes effect.
   */
  ack(delivery: Delivery): Promise<void> {
    this.#checkOpen();
    if (!(delivery instanceof LeasedDelivery)) throw new InvalidArgumentError('tx.ack takes a delivery handed out by a Ferry consumer');
    const taken = delivery.enlist();
    this.#enlisted.push(taken.finish);
    const parts = this.#partsOf(delivery.topic, delivery.partition);
    parts.acks.push({ group: taken.group, offset: delivery.offset, token: taken.token, ...(taken.keys ? { keys: taken.keys } : {}) });
    return this.#sendIfHalf(parts);
  }

  /** Commits: every publish and ack takes effect, or (it throws) none does. */
  commit(): Promise<void> {
    return this.#host.commit(this);
  }

  /** Aborts: nothing of the transaction takes effect; its acked deliveries may be settled again. */
  abort(): Promise<void> {
    return this.#host.abort(this, 'aborted by the application');
  }

  #checkOpen(): void {
    if (this.#fenced) throw new TransactionFencedError(this.id);
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') throw new TransactionFinishedError(this.id, this.#state, this.abortReason);
  }

  #unkeyedPartition(topic: string, partitions: number): number {
    let p = this.#unkeyed.get(topic);
    if (p === undefined) this.#unkeyed.set(topic, (p = this.#host.random.int(partitions)));
    return p;
  }

  #partsOf(topic: string, partition: number): PartitionParts {
    const key = `${partition}/${topic}`;
    let parts = this.#parts.get(key);
    if (!parts) this.#parts.set(key, (parts = { topic, partition, sent: 0, records: [], ids: [], anyId: false, acks: [] }));
    return parts;
  }

  #sendIfHalf(parts: PartitionParts): Promise<void> {
    if (!this.half) return Promise.resolve();
    // A failed part dooms the transaction, and its rejection waits for the abort record: an
    // application told of the failure may crash next, and the check-back must not be asked then.
    // The commit reports a failure; a publish or ack whose promise nobody awaits must not crash
    // the process with an unhandled rejection (the caller who awaits it still gets the error).
    const done = this.#send(parts).then(
      () => undefined,
      async (error: unknown) => {
        await this.doomedBy(error);
        throw error;
      },
    );
    done.catch(() => {});
    return done;
  }

  #send(parts: PartitionParts): Promise<null> {
    const command: TxPrepareCommand = {
      op: 'txPrepare',
      topic: parts.topic,
      partition: parts.partition,
      txId: this.key,
      k: parts.sent++,
      ...(parts.records.length > 0 ? { part: { payload: frameMessages(parts.records), count: parts.records.length, ...(parts.anyId ? { ids: parts.ids } : {}) } } : {}),
      acks: parts.acks,
    };
    parts.records = [];
    parts.ids = [];
    parts.anyId = false;
    parts.acks = [];
    const sent = this.#host.prepare(command);
    this.#sending.push(sent);
    return sent;
  }

  /** @internal Moves to `committing`: sends what is not sent yet and settles once every part is prepared (rejects with the first failure). */
  prepareAll(): Promise<unknown> {
    this.#checkOpen();
    this.#state = 'committing';
    for (const parts of this.#parts.values()) if (parts.records.length > 0 || parts.acks.length > 0) this.#send(parts);
    return Promise.all(this.#sending);
  }

  /**
   * @internal Copies what `member` gathered (a buffered transaction: nothing of it sent) into this
   * one, and moves `member` to `committing`: it is committed by this transaction's commit, and
   * finished by whoever merged it (`finish`, or `reopen` once this one is known aborted). False,
   * and nothing done, if the sum would pass the limits of one transaction.
   */
  absorb(member: Transaction): boolean {
    member.#checkOpen();
    this.#checkOpen();
    if (member.half || this.half) throw new InvalidArgumentError('a half transaction cannot be merged');
    if (this.#messages + member.#messages > this.#host.maxMessages || this.#bytes + member.#bytes > this.#host.maxBytes) return false;
    this.#messages += member.#messages;
    this.#bytes += member.#bytes;
    for (const from of member.#parts.values()) {
      const into = this.#partsOf(from.topic, from.partition);
      into.records.push(...from.records);
      into.ids.push(...from.ids);
      into.anyId ||= from.anyId;
      into.acks.push(...from.acks);
    }
    member.#state = 'committing';
    return true;
  }

  /** @internal Its manager's side (merging goes through it). */
  get host(): TransactionHost {
    return this.#host;
  }

  /** @internal A member whose merged transaction aborted (nothing of it happened): open again, to commit on its own. */
  reopen(): void {
    if (this.#state === 'committing' && this.#sending.length === 0) this.#state = 'open';
  }

  /** @internal Waits for every part sent (whatever its outcome). */
  settled(): Promise<unknown> {
    return Promise.allSettled(this.#sending);
  }

  /** @internal Every partition it sent a part to. */
  participants(): { topic: string; partition: number }[] {
    return [...this.#parts.values()].filter((p) => p.sent > 0).map(({ topic, partition }) => ({ topic, partition }));
  }

  /** @internal The outcome: acked deliveries are released (committed) or settleable again. */
  finish(committed: boolean, error?: unknown): void {
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    this.#state = committed ? 'committed' : 'aborted';
    for (const finish of this.#enlisted) finish(committed, error);
  }

  /**
   * @internal A part of this half transaction failed (or its commit did): it is aborted, and the
   * abort recorded durably before the failure is reported, so a crash cannot leave it in doubt.
   * Settles once that is done (or could not be); the first failure is the one kept.
   */
  doomedBy(error: unknown): Promise<void> {
    if (this.#doom) return this.#doom;
    const code = error instanceof FerryError ? ` with ${error.code}` : '';
    this.#failure = new TransactionAbortedError(this.id, `a publish or ack of it failed${code}`, { cause: error });
    this.#doom = this.#host.doom(this, error);
    return this.#doom;
  }

  /** @internal The error a doomed transaction's commit, publishes and acks reject with (undefined: not doomed). */
  get failure(): TransactionAbortedError | undefined {
    return this.#failure;
  }

  /** @internal A newer instance of this id began: nothing more is accepted. */
  fence(): void {
    this.#fenced = true;
  }

  /** @internal */
  get fenced(): boolean {
    return this.#fenced;
  }
}
