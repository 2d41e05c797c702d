// The engine's transaction manager (issue 13, docs/TRANSACTIONS.md): not a process, an object on
// the engine's thread. It prepares a transaction's parts on its partitions, writes the one decision
// record, sends the decision, resolves what a crash left prepared (at open, and by a periodic sweep
// for partitions that restarted), asks `resolveInDoubt` about half transactions, and aborts
// abandoned ones after `transactionTimeoutMs`.
//
//   commit: prepare parts ──all durable──► DECISION commit (durable: the commit point, commit() resolves) ──► txDecide(commit) everywhere
//           any prepare fails ──► txDecide(abort) everywhere, commit() rejects: nothing happened
import { FerryError, InvalidArgumentError, type Clock, type Random, type TimerHandle, showValue } from '../wal/index.ts';
import type { DecisionLog } from './decision-log.ts';
import type { FerryEventMap } from './engine-events.ts';
import { ClosedError } from './errors.ts';
import { checkName } from './names.ts';
import type { PartitionLimits } from './partition-api.ts';
import { DEFAULT_MAX_OPEN_TRANSACTIONS } from './partition-transactions.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';
import { Transaction, type TransactionHost } from './transaction.ts';
import { TooManyTransactionsError, TransactionAbortedError, TransactionFencedError, TransactionFinishedError } from './transaction-errors.ts';

/** What `resolveInDoubt` is told about a half transaction a crash left undecided. */
export interface InDoubtInfo {
  /** When it began (ms since epoch). */
  readonly begunAt: number;
  /** The partitions holding its prepared messages and acks. */
  readonly partitions: readonly { readonly topic: string; readonly partition: number }[];
}

/** The check-back: asked for every in-doubt half transaction after a restart; answer from your own records. */
export type ResolveInDoubt = (id: string, info: InDoubtInfo) => Promise<'commit' | 'abort'> | 'commit' | 'abort';

/** Messages in one transaction when `limits.maxTransactionMessages` is not given. */
export const DEFAULT_MAX_TRANSACTION_MESSAGES = 10_000;
/** Bytes in one transaction when `limits.maxTransactionBytes` is not given. */
export const DEFAULT_MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;
/** Default `transactionTimeoutMs`. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;

/** Longest wait between tries of a decision a partition did not take (it restarts, say). */
const MAX_RETRY_MS = 5_000;
/** Longest wait between tries of a `resolveInDoubt` that fails. */
const MAX_CHECK_BACK_RETRY_MS = 30_000;

export interface TransactionManagerOptions {
  readonly runtime: PartitionRuntime;
  readonly decisions: DecisionLog;
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
  readonly timeoutMs: number;
  readonly resolveInDoubt?: ResolveInDoubt;
  /** Told of each failed try of `resolveInDoubt` (the engine's `checkBackFailed` alert event). */
  readonly checkBackFailed?: (event: FerryEventMap['checkBackFailed']) => void;
  readonly boot: number;
  topic(name: string): ResolvedTopicOptions;
  topics(): [string, ResolvedTopicOptions][];
}

type Where = { topic: string; partition: number };

/** What the partitions hold prepared (key -> partitions), and whether every partition was asked. */
interface Listing {
  readonly byKey: Map<string, Where[]>;
  readonly complete: boolean;
}

/** Transactions of one engine. */
export class TransactionManager {
  readonly #o: TransactionManagerOptions;
  readonly #host: TransactionHost;
  readonly #maxOpen: number;
  /** Transactions begun and not finished, by key. */
  readonly #live = new Map<string, Transaction>();
  /** The open half transaction of each id (a newer one fences it). */
  readonly #halves = new Map<string, Transaction>();
  /** In-doubt half transactions being resolved, by key, and by id (a begin with the id waits for it). */
  readonly #inDoubt = new Map<string, Promise<void>>();
  readonly #inDoubtIds = new Map<string, Promise<void>>();
  readonly #timers = new Set<TimerHandle>();
  /** Sleeps in progress: close() wakes them, so no retry loop outlives the engine. */
  readonly #sleepers = new Set<() => void>();
  #sweepTimer: TimerHandle | undefined;
  #sequence = 0;
  #closed = false;
  #recovering: Promise<void> = Promise.resolve();
  /**
   * Something may be left prepared that no live transaction owns: a decision some partition did
   * not take, a partition recovery could not ask. Only then does the sweep ask every partition.
   */
  #unsure = false;

  constructor(o: TransactionManagerOptions) {
    this.#o = o;
    this.#maxOpen = o.limits.maxOpenTransactions ?? DEFAULT_MAX_OPEN_TRANSACTIONS;
    this.#host = {
      clock: o.clock,
      random: o.random,
      maxMessageBytes: o.maxMessageBytes,
      maxMessages: o.limits.maxTransactionMessages ?? DEFAULT_MAX_TRANSACTION_MESSAGES,
      maxBytes: o.limits.maxTransactionBytes ?? DEFAULT_MAX_TRANSACTION_BYTES,
      topic: (name) => o.topic(name),
      prepare: (command) => o.runtime.call(command),
      commit: (tx) => this.#commit(tx),
      abort: (tx, why) => this.#abort(tx, why),
      doom: (tx) => this.#doom(tx),
      begin: () => this.begin(),
      forget: (tx) => this.#forgetLive(tx),
    };
  }

  /** A buffered transaction (ferry.transaction, exactlyOnce handlers): nothing is sent before commit. */
  begin(headers?: Readonly<Record<string, string>>): Transaction {
    this.#checkOpen();
    if (this.#live.size >= this.#maxOpen) throw new TooManyTransactionsError(this.#maxOpen);
    const key = `${this.#o.boot}.${this.#sequence++}`;
    const tx = new Transaction(this.#host, key, key, false, headers);
    this.#live.set(key, tx);
    return tx;
  }

  /**
   * A half transaction: durable from now on (after a crash it is in doubt and `resolveInDoubt` is
   * asked), its parts prepared as they come, aborted if not decided within `transactionTimeoutMs`.
   * An open instance with the same id is fenced and aborted; an in-doubt one is resolved first.
   */
  async beginHalf(id: string): Promise<Transaction> {
    this.#checkOpen();
    checkName('transaction', id);
    if (this.#live.size >= this.#maxOpen) throw new TooManyTransactionsError(this.#maxOpen);
    await this.#inDoubtIds.get(id);
    const older = this.#halves.get(id);
    if (older) {
      older.fence();
      await this.#abort(older, 'fenced by a newer instance').catch(() => {});
    }
    const key = `${id}@${this.#o.boot}.${this.#sequence++}`;
    const tx = new Transaction(this.#host, id, key, true);
    this.#live.set(key, tx);
    this.#halves.set(id, tx);
    try {
      await this.#o.decisions.begin(key, id, this.#o.clock.now());
    } catch (error) {
      this.#forgetLive(tx);
      throw error;
    }
    this.#after(this.#o.timeoutMs, () => {
      if (tx.state === 'open') void this.#abort(tx, `not decided within transactionTimeoutMs (${this.#o.timeoutMs} ms)`).catch(() => {});
    });
    return tx;
  }

  #forgetLive(tx: Transaction): void {
    this.#live.delete(tx.key);
    if (this.#halves.get(tx.id) === tx) this.#halves.delete(tx.id);
  }

  async #commit(tx: Transaction): Promise<void> {
    if (tx.failure) {
      await tx.doomedBy(tx.failure);
      throw tx.failure;
    }
    if (tx.fenced) throw new TransactionFencedError(tx.id);
    if (tx.state !== 'open') throw new TransactionFinishedError(tx.id, tx.state, tx.abortReason);
    try {
      await tx.prepareAll();
      if (tx.fenced) throw new TransactionFencedError(tx.id);
      this.#checkOpen();
    } catch (error) {
      if (!tx.half) {
        await this.#rollBack(tx, error);
        throw error;
      }
      // A half transaction's failed part doomed it (its abort recorded before this rejects).
      await tx.doomedBy(error);
      throw error instanceof TransactionFencedError || error instanceof ClosedError ? error : (tx.failure ?? error);
    }
    try {
      await this.#o.decisions.decide(tx.key, true, this.#o.clock.now()); // the commit point
    } catch (error) {
      // Not written: nothing committed, roll back. Written but not synced (the log failed): the
      // outcome is whatever the disk kept; the next open decides by it, so nothing is sent now.
      if (this.#o.decisions.decision(tx.key) === undefined) await this.#rollBack(tx, error);
      else this.#forgetLive(tx);
      throw error;
    }
    tx.finish(true);
    this.#forgetLive(tx);
    // Committed: the partitions apply it in the background (retried; recovery redoes it after a
    // crash), so a handler's commit costs two syncs (its parts, the decision), not three.
    void this.#decideEverywhere(tx.key, tx.participants(), true).then((applied) => applied && this.#o.decisions.forget(tx.key));
  }

  /** A failed commit: every part sent is dropped (once it is known to have arrived or not), then the outcome reported. */
  async #rollBack(tx: Transaction, error: unknown): Promise<void> {
    await tx.settled();
    tx.finish(false, error);
    // A half transaction's abort record may have to wait (a full decision log): commit() reports
    // its failure now, and the record and the drops follow. A plain one's parts are dropped before
    // commit() rejects, so the deliveries it acked can be nacked at once.
    if (tx.half) void this.#dropEverywhere(tx);
    else await this.#dropEverywhere(tx);
  }

  /**
   * Drops an aborted transaction's parts. A half transaction's abort is recorded first: were its
   * parts dropped and no record left (a full disk, then a crash), the check-back would be asked
   * after the restart and its 'commit' could not be honoured. A record that cannot be written
   * (retried while the failure is retriable) leaves it in doubt: the parts stay, the check-back
   * decides after the next open.
   */
  async #dropEverywhere(tx: Transaction, recording = tx.half ? this.#recordAbort(tx).recorded : Promise.resolve(true)): Promise<void> {
    const recorded = await recording;
    this.#forgetLive(tx);
    if (!recorded) return;
    await this.#decideEverywhere(tx.key, tx.participants(), false);
    if (tx.half) this.#o.decisions.forget(tx.key);
  }

  /**
   * Writes a half transaction's abort record: `first` settles after the first try (whatever its
   * outcome), `recorded` once it is durable (true) or cannot be written (false; retried meanwhile
   * while the failure is retriable).
   */
  #recordAbort(tx: Transaction): { first: Promise<void>; recorded: Promise<boolean> } {
    const decide = (): Promise<void> => this.#o.decisions.decide(tx.key, false, this.#o.clock.now());
    const attempt = decide();
    return { first: attempt.then(() => {}, () => {}), recorded: attempt.then(() => true, () => this.#retrying(decide)) };
  }

  /**
   * A part of a half transaction failed: the transaction can no longer commit whole, so it is
   * aborted now, and durably, before the failure is reported (resolves after the record's first
   * try). Otherwise a crash would leave it in doubt, and a check-back answering 'commit' (the
   * application's own transaction committed) would commit it with a part missing. A record that
   * cannot be written at once is retried in the background; until it is, a crash still asks.
   */
  #doom(tx: Transaction): Promise<void> {
    if (tx.state === 'committed' || tx.state === 'aborted') return Promise.resolve(); // decided already: that path records it
    tx.finish(false, tx.failure);
    const { first, recorded } = this.#recordAbort(tx);
    void tx.settled().then(() => this.#dropEverywhere(tx, recorded));
    return first;
  }

  async #abort(tx: Transaction, why: string): Promise<void> {
    if (tx.state === 'aborted') return;
    if (tx.state !== 'open') throw new TransactionFinishedError(tx.id, tx.state, tx.abortReason);
    const error = tx.fenced ? new TransactionFencedError(tx.id) : new TransactionAbortedError(tx.id, why);
    tx.abortReason = why; // a later commit() says why it was aborted (a timeout, say)
    tx.finish(false, error);
    await tx.settled();
    await this.#dropEverywhere(tx);
  }

  /**
   * Sends the decision to every partition, retrying what fails for a retriable reason (a restarting
   * worker, a lost reply) until the engine closes. True once every partition has taken it.
   */
  async #decideEverywhere(key: string, where: readonly Where[], commit: boolean): Promise<boolean> {
    const results = await Promise.all(where.map((w) => this.#retrying(() => this.#o.runtime.call({ op: 'txDecide', topic: w.topic, partition: w.partition, txId: key, commit }))));
    const all = results.every((ok) => ok);
    if (!all) this.#unsure = true;
    return all;
  }

  /** Runs `call` until it succeeds (true), fails for a reason that is not retriable, or the engine closes (false). */
  async #retrying(call: () => Promise<unknown>): Promise<boolean> {
    for (let tries = 0; ; tries++) {
      try {
        await call();
        return true;
      } catch (error) {
        if (this.#closed || !(error instanceof FerryError && error.retriable)) return false;
        await this.#sleep(Math.min(MAX_RETRY_MS, 10 * 2 ** tries));
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#sleepers.delete(wake);
        resolve();
      };
      this.#sleepers.add(wake);
      this.#after(ms, wake);
    });
  }

  #after(ms: number, run: () => void): void {
    const timer = this.#o.clock.setTimer(ms, () => {
      this.#timers.delete(timer);
      run();
    });
    this.#timers.add(timer);
  }

  /**
   * What every partition holds prepared: key -> partitions, and whether every partition answered.
   * Partitions that cannot answer now are left for the sweep; an incomplete listing proves nothing
   * about a transaction it does not show (it may sit prepared on a partition that did not answer),
   * so no decision is forgotten on its word.
   */
  async #prepared(): Promise<Listing> {
    const where: Where[] = this.#o.topics().flatMap(([topic, o]) => Array.from({ length: o.partitions }, (_, partition) => ({ topic, partition })));
    let complete = true;
    const lists = await Promise.all(
      where.map((w) =>
        this.#o.runtime.call({ op: 'txList', ...w }).catch(() => {
          complete = false;
          this.#unsure = true; // asked again by the sweep
          return [] as string[];
        }),
      ),
    );
    const byKey = new Map<string, Where[]>();
    lists.forEach((keys, i) => {
      for (const key of keys) {
        const list = byKey.get(key);
        if (list) list.push(where[i]!);
        else byKey.set(key, [where[i]!]);
      }
    });
    return { byKey, complete };
  }

  /**
   * Recovery, before the engine serves: applies what was decided and aborts what was prepared
   * without a decision (presumed abort), then starts resolving in-doubt half transactions in the
   * background (their messages stay invisible until then). Arms the sweep.
   */
  recover(): void {
    this.#armSweep();
    // Read now, before anything else runs: a half transaction begun while recovery waits on the
    // partitions is this run's own, not in doubt (found by the simulator, seed 104); and so is a
    // decision this run records meanwhile, which must not be forgotten below before it is applied.
    const inDoubt = this.#o.decisions.halves();
    const decidedBefore = this.#o.decisions.decisions();
    this.#recovering = (async () => {
      const listing = await this.#prepared();
      // The in-doubt ones first: the resolution of the rest must leave them to the check-back.
      for (const [key, half] of inDoubt) this.#startInDoubt(key, half.id, half.at, listing);
      await this.#resolve(listing);
      // Decided by an earlier run and prepared nowhere: applied everywhere. Only a complete listing
      // shows that (fresh seed 197485826: one partition did not answer, the decision was forgotten,
      // and the sweep then presumed its prepared part there aborted).
      if (listing.complete) for (const [key] of decidedBefore) if (!listing.byKey.has(key)) this.#o.decisions.forget(key);
    })().catch(() => {}); // what failed here, the sweep decides later
  }

  /** Settles once the recovery started at open is done (tests and close wait for it). */
  get recovered(): Promise<void> {
    return this.#recovering;
  }

  /** Decides each prepared transaction the engine is not running: by its decision, or abort; half ones without one are left to the check-back. */
  async #resolve(listing: Listing): Promise<void> {
    const halves = new Map(this.#o.decisions.halves());
    await Promise.all(
      [...listing.byKey].map(async ([key, where]) => {
        if (this.#live.has(key) || this.#inDoubt.has(key) || (halves.has(key) && this.#o.decisions.decision(key) === undefined)) return;
        // Its record failed its sync: the disk may have kept it or not, and the next open decides
        // by what it kept; sending it now could make the transaction half applied after a crash.
        if (this.#o.decisions.uncertain(key)) return;
        const commit = this.#o.decisions.decision(key) === true;
        if ((await this.#decideEverywhere(key, where, commit)) && listing.complete) this.#o.decisions.forget(key);
      }),
    );
  }

  #startInDoubt(key: string, id: string, begunAt: number, listing: Listing): void {
    if (this.#inDoubt.has(key) || this.#live.has(key)) return;
    // Never rejects: a decision that cannot be written is retried inside; closing ends it.
    const resolving = this.#resolveInDoubt(key, id, begunAt, listing)
      .catch(() => {})
      .finally(() => {
        this.#inDoubt.delete(key);
        if (this.#inDoubtIds.get(id) === resolving) this.#inDoubtIds.delete(id);
      });
    this.#inDoubt.set(key, resolving);
    this.#inDoubtIds.set(id, resolving);
  }

  /**
   * The check-back: asks `resolveInDoubt` (retrying with backoff while it fails); without one,
   * aborts once the transaction is older than its timeout. The decision is recorded, then sent to
   * the partitions the listing found it on; it is forgotten only if the listing was complete (else
   * the sweep finds the rest and applies the recorded decision: fresh seed 197477614, where a
   * 'commit' sent to no partition was forgotten and the sweep then aborted the prepared output).
   */
  async #resolveInDoubt(key: string, id: string, begunAt: number, listing: Listing): Promise<void> {
    const partitions = listing.byKey.get(key) ?? [];
    const ask = this.#o.resolveInDoubt;
    let commit = false;
    if (!ask) {
      const left = begunAt + this.#o.timeoutMs - this.#o.clock.now();
      if (left > 0) await this.#sleep(left);
    } else {
      for (let tries = 0; !this.#closed; tries++) {
        try {
          const answer = await ask(id, { begunAt, partitions });
          if (answer !== 'commit' && answer !== 'abort') throw new InvalidArgumentError(`resolveInDoubt must answer 'commit' or 'abort' (got ${showValue(answer)})`);
          commit = answer === 'commit';
          break;
        } catch (error) {
          // Asked again after a backoff: until it answers, the messages stay invisible.
          const retryInMs = Math.min(MAX_CHECK_BACK_RETRY_MS, 100 * 2 ** tries);
          this.#checkBackFailed(id, begunAt, tries + 1, retryInMs, error);
          await this.#sleep(retryInMs);
        }
      }
    }
    if (this.#closed) return;
    const decide = (): Promise<void> => this.#o.decisions.decide(key, commit, this.#o.clock.now());
    if (!(await this.#retrying(decide))) return; // the log failed, or the engine closed: asked again at the next open
    if (!listing.complete) this.#unsure = true; // the sweep sends the recorded decision where the listing did not look
    if ((await this.#decideEverywhere(key, partitions, commit)) && listing.complete) this.#o.decisions.forget(key);
  }

  /** Raises the alert of a failed check-back; a listener's failure is not the engine's. */
  #checkBackFailed(transactionId: string, begunAt: number, tries: number, retryInMs: number, error: unknown): void {
    const code = error instanceof FerryError ? error.code : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'RESOLVE_IN_DOUBT_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    this.#o.checkBackFailed?.({ type: 'checkBackFailed', at: this.#o.clock.now(), transactionId, begunAt, tries, retryInMs, code, message });
  }

  /** Every transactionTimeoutMs: decides what partitions hold prepared that no live transaction owns (a restarted worker's, a lost decision's). */
  #armSweep(): void {
    if (this.#closed) return;
    this.#sweepTimer = this.#o.clock.setTimer(this.#o.timeoutMs, () => {
      this.#sweepTimer = undefined;
      if (this.#closed) return;
      if (!this.#unsure) return this.#armSweep();
      this.#unsure = false;
      void this.#prepared()
        .then((listing) => this.#resolve(listing))
        .catch(() => {})
        .finally(() => this.#armSweep());
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('this Ferry instance');
  }

  /** Stops timers and retries; open transactions stay as they are on disk (a half one is in doubt at the next open). */
  close(): void {
    this.#closed = true;
    this.#sweepTimer?.cancel();
    for (const t of this.#timers) t.cancel();
    this.#timers.clear();
    for (const wake of [...this.#sleepers]) wake();
  }
}
