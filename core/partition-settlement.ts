// Settling deliveries: a consumer's settle queue applied in order (start, ack, nack, extend,
// release), each checked against the delivery's lease; acks of one turn batched into one ACK
// record; failed attempts recorded as RETRY, or past maxDeliveries as DEAD_INTENT for the outbox;
// and the expiry policy: a lease no handler took goes back uncharged, one a handler held is a
// failed attempt.
import { FerryError, InvalidArgumentError, type FerryErrorWire, showValue } from '../wal/index.ts';
import { backoffDelayMs } from './backoff.ts';
import { readClock, wallFromMono } from './clock-reading.ts';
import type { DeadLetterOutbox } from './dead-letter-outbox.ts';
import { StaleDeliveryError } from './errors.ts';
import type { GroupState, Pending } from './group-state.ts';
import { MAX_ERROR_CHARS, type LeaseToken } from './partition-api.ts';
import type { PartitionDeliveries } from './partition-deliveries.ts';
import type { PartitionJournal } from './partition-journal.ts';
import type { NackCommandOptions, SettleItem } from './partition-protocol.ts';
import { groupOf, type PartitionScope } from './partition-scope.ts';
import type { OnceKeys } from './once-keys.ts';
import { RecordType } from './records.ts';

/** An error as the protocol carries it: typed errors keep their code; anything else is INTERNAL. */
function wireError(error: unknown): FerryErrorWire {
  if (error instanceof FerryError) return error.toWire();
  return { code: 'INTERNAL', message: `internal error: ${error instanceof Error ? error.message : String(error)}`, retriable: false };
}

/** A failed attempt waiting for this turn's write of RETRY records (see #queueRetry). */
interface RetryEntry {
  readonly g: GroupState;
  readonly p: Pending;
  readonly failures: number;
  readonly due: number;
  readonly error: string | null;
  readonly expired: boolean;
  readonly body: unknown;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface AckBatch {
  offsets: number[];
  /** Keys recorded with these acks (d.once). */
  keys: string[];
  settle: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** Acks, nacks, extensions, releases and lease expiry for a partition's groups. */
export class PartitionSettlement {
  readonly #s: PartitionScope;
  readonly #journal: PartitionJournal;
  readonly #outbox: DeadLetterOutbox;
  readonly #deliveries: () => PartitionDeliveries;
  readonly #once: OnceKeys | undefined;
  #acks = new Map<string, AckBatch>();
  #acksScheduled = false;

  constructor(scope: PartitionScope, journal: PartitionJournal, outbox: DeadLetterOutbox, deliveries: () => PartitionDeliveries, once?: OnceKeys) {
    this.#s = scope;
    this.#once = once;
    this.#journal = journal;
    this.#outbox = outbox;
    this.#deliveries = deliveries;
  }

  /**
   * Applies a consumer's settle queue in order and answers each item, as plain data, once its
   * effect is durable. The order is the consumer's: a release never overtakes an ack given before it.
   */
  settle(group: string, items: readonly SettleItem[]): Promise<(FerryErrorWire | null)[]> {
    // Synchronous items (start, extend, release) answer at once. The acks of one command go into
    // one batch (one ACK record per turn) and wait for it together: one wait per command, not one
    // promise per ack (this runs per message). Nacks wait for their own records.
    const results: (FerryErrorWire | null)[] = new Array<FerryErrorWire | null>(items.length).fill(null);
    let waits: Promise<void>[] | undefined;
    let acked: number[] | undefined;
    let batch: AckBatch | undefined;
    const retries: RetryEntry[] = []; // the command's nacks: their RETRY records go in one write at its end
    const now = this.#s.c.clock.monotonicNow(); // one reading for the command's acks (this runs per message)
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      try {
        if (item.kind === 'ack') {
          batch = this.#queueAck(group, item.offset, item.token, item.keys, now);
          (acked ??= []).push(i);
          continue;
        }
        const pending = this.#settleOne(group, item, retries);
        if (pending) (waits ??= []).push(pending.then(undefined, (error: unknown) => void (results[i] = wireError(error))));
      } catch (error) {
        results[i] = wireError(error);
      }
    }
    this.#writeRetries(retries);
    if (batch && acked) {
      const ackedItems = acked;
      const written = batch;
      (waits ??= []).push(
        new Promise<void>((resolve) =>
          written.settle.push({
            resolve,
            reject: (error: unknown) => {
              const wire = wireError(error);
              for (const i of ackedItems) results[i] = wire;
              resolve();
            },
          }),
        ),
      );
    }
    if (!waits) return Promise.resolve(results);
    return (waits.length === 1 ? waits[0]! : Promise.all(waits)).then(() => results);
  }

  /** Applies one item other than an ack; returns a promise only for what waits on a record (a nack). */
  #settleOne(group: string, item: Exclude<SettleItem, { kind: 'ack' }>, retries: RetryEntry[]): Promise<void> | undefined {
    switch (item.kind) {
      case 'start': {
        const p = this.#leased(group, item.offset, item.token, 'start');
        const g = groupOf(this.#s, group);
        const now = this.#s.c.clock.monotonicNow();
        g.start(p, now, this.#s.c.options.ackTimeoutMs);
        p.lease!.startedAt = now; // for the handler duration, measured at its ack or nack
        this.#deliveries().arm();
        return undefined;
      }
      case 'nack':
        return this.#nack(group, item.offset, item.token, item.options, retries);
      case 'extend':
        this.extend(group, item.offset, item.token, item.ms);
        return undefined;
      case 'release':
        this.release(item.consumerId, item.leases ?? true, item.offsets, group);
        return undefined;
    }
  }

  /** The pending message `token` holds the lease of; `now` when the caller read the clock already (one reading per command). */
  #leased(group: string, offset: number, token: LeaseToken, what: string, now?: number): Pending {
    const { c } = this.#s;
    this.#s.checkOpen();
    const g = groupOf(this.#s, group);
    const p = g.pending.get(offset);
    if (!p || p.acking) throw new StaleDeliveryError(c.topic, c.partition, offset, `already settled, ${what} ignored`);
    if (!p.lease || p.lease.token !== token) {
      throw new StaleDeliveryError(c.topic, c.partition, offset, p.lease ? 'its lease ran out and it was leased again' : 'its lease expired');
    }
    if (p.lease.deadline <= (now ?? c.clock.monotonicNow())) throw new StaleDeliveryError(c.topic, c.partition, offset, 'its lease expired');
    return p;
  }

  /** Throws STALE_DELIVERY unless `token` holds the delivery's current lease (a transaction's prepare, issue 13). */
  checkLease(group: string, offset: number, token: LeaseToken, what: string): void {
    this.#leased(group, offset, token, what);
  }

  /** A prepared transaction acks the delivery: no second ack, and its lease running out is ignored. */
  reserve(group: string, offset: number): void {
    const p = this.#s.groups.get(group)?.pending.get(offset);
    if (p) p.acking = true;
  }

  /** The transaction that reserved the delivery aborted: it is free again (at once if its lease ran out). */
  unreserve(group: string, offset: number): void {
    const g = this.#s.groups.get(group);
    const p = g?.pending.get(offset);
    if (!g || !p) return;
    p.acking = false;
    const now = this.#s.c.clock.monotonicNow();
    if (!p.lease || p.lease.deadline <= now) g.unlease(p, now);
    this.#deliveries().arm();
  }

  /**
   * Acknowledges a delivery. Every ack of the current tick goes into one ACK record; the messages
   * are settled once it is written, and the promise resolves once it is durable. An ack that
   * could not be written (disk full) rejects and leaves the lease as it was.
   */
  ack(group: string, offset: number, token: LeaseToken, keys?: readonly string[]): Promise<void> {
    const batch = this.#queueAck(group, offset, token, keys);
    return new Promise((resolve, reject) => batch.settle.push({ resolve, reject }));
  }

  /** Puts an ack (and the d.once keys recorded with it) into this turn's batch of its group (written by flushAcks); returns the batch. */
  #queueAck(group: string, offset: number, token: LeaseToken, keys?: readonly string[], now?: number): AckBatch {
    const p = this.#leased(group, offset, token, 'ack', now);
    this.#handled(p);
    p.acking = true; // a second ack of it this tick is stale, and expiry leaves it alone
    let batch = this.#acks.get(group);
    if (!batch) this.#acks.set(group, (batch = { offsets: [], keys: [], settle: [] }));
    batch.offsets.push(offset);
    if (keys) batch.keys.push(...keys);
    if (!this.#acksScheduled) {
      this.#acksScheduled = true;
      this.#s.c.clock.defer(() => this.flushAcks()); // one ACK record for the acks of this turn
    }
    return batch;
  }

  /** Writes the ACK records of this turn's acks (also at close: acks given before it are kept). */
  flushAcks(): void {
    if (!this.#acksScheduled) return; // already flushed by close()
    this.#acksScheduled = false;
    const { c, groups } = this.#s;
    const batches = this.#acks;
    this.#acks = new Map();
    for (const [group, batch] of batches) {
      const g = groups.get(group)!;
      const now = c.clock.monotonicNow();
      // An ordered group's next message of a key waits until this ACK is durable (a crash must not
      // bring the acked one back after it); settled at once otherwise.
      const holdKeys = g.ordering !== 'none';
      const wall = c.clock.now();
      this.#journal.record(RecordType.ACK, { g: group, o: batch.offsets, ...(batch.keys.length > 0 ? { k: batch.keys } : {}) }, () => {
        for (const offset of batch.offsets) g.settle(offset, now, holdKeys);
        if (batch.keys.length > 0) this.#once?.record(group, batch.keys, wall);
      }).then(
        () => {
          this.#s.metrics.group(group).acked += batch.offsets.length;
          if (holdKeys) {
            for (const offset of batch.offsets) g.releaseKey(offset, c.clock.monotonicNow());
            this.#deliveries().serve();
          }
          batch.settle.forEach((s) => s.resolve());
        },
        (error: unknown) => {
          for (const offset of batch.offsets) {
            const p = g.pending.get(offset);
            if (p) p.acking = false;
          }
          batch.settle.forEach((s) => s.reject(error));
        },
      );
    }
    this.#deliveries().serve(); // the next message of a settled key may go
  }

  /** Forgets the acks of a deleted group that are not yet written. */
  forgetGroup(group: string): void {
    this.#acks.delete(group);
  }

  /** A failed attempt: redelivered after the backoff (or `delayMs`), dead-lettered after maxDeliveries. */
  nack(group: string, offset: number, token: LeaseToken, options: NackCommandOptions = {}): Promise<void> {
    const retries: RetryEntry[] = [];
    const done = this.#nack(group, offset, token, options, retries);
    this.#writeRetries(retries);
    return done;
  }

  /** A nack whose RETRY record (if it gets one) is left in `retries` for the caller's one write. */
  #nack(group: string, offset: number, token: LeaseToken, options: NackCommandOptions, retries: RetryEntry[]): Promise<void> {
    const { error, delayMs } = options;
    if (error !== undefined && (typeof error !== 'string' || error.length > MAX_ERROR_CHARS)) {
      return Promise.reject(new InvalidArgumentError(`nack error must be a string of at most ${MAX_ERROR_CHARS} characters (it travels with the message and its dead letter)`));
    }
    if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
      return Promise.reject(new InvalidArgumentError(`nack delayMs must be a finite, non-negative number (got ${showValue(delayMs)})`));
    }
    const p = this.#leased(group, offset, token, 'nack');
    const g = groupOf(this.#s, group);
    this.#handled(p);
    this.#s.metrics.group(group).nacked++;
    return this.#failAttempt(g, p, error ?? null, delayMs, retries, options.deadLetter === true);
  }

  /** Extends a lease by `ms` (default: the topic's ackTimeoutMs) from now. */
  extend(group: string, offset: number, token: LeaseToken, ms?: number): void {
    const p = this.#leased(group, offset, token, 'extend');
    const g = groupOf(this.#s, group);
    g.extend(p, this.#s.c.clock.monotonicNow(), ms ?? this.#s.c.options.ackTimeoutMs);
    this.#deliveries().arm();
  }

  /**
   * Answers a consumer's parked fetches and, unless `leases` is false, ends its leases without
   * charging an attempt: those of `offsets` (deliveries its handlers never took), or all of them.
   */
  release(consumerId: string, leases = true, offsets?: readonly number[], group?: string): void {
    const { c, groups: all } = this.#s;
    const now = c.clock.monotonicNow();
    const groups = group === undefined ? [...all.values()] : [all.get(group)].filter((g) => g !== undefined);
    for (const g of leases ? groups : []) {
      if (offsets) {
        for (const offset of offsets) {
          const p = g.pending.get(offset);
          if (p?.lease?.consumerId === consumerId && !p.acking) g.unlease(p, now);
        }
      } else for (const p of g.pending.values()) if (p.lease?.consumerId === consumerId && !p.acking) g.unlease(p, now);
    }
    this.#deliveries().answerEmpty((request) => request.consumerId === consumerId);
    this.#deliveries().serve();
  }

  /**
   * Records how long the handler held `p`: from its start item, or 0 when the ack or nack came in
   * the start's own turn and took its place (the consumer then sends no start).
   */
  #handled(p: Pending): void {
    if (!this.#s.metrics.timed) return; // Ferry.open({ metrics: false }): no clock reading for it
    const startedAt = p.lease?.startedAt;
    this.#s.metrics.handler.record(startedAt === undefined ? 0 : this.#s.c.clock.monotonicNow() - startedAt);
  }

  /**
   * Records a failed attempt: past maxDeliveries (or `deadNow`) a DEAD_INTENT at once; otherwise a
   * RETRY left in `retries`, which the caller writes with the others of its command (#writeRetries).
   */
  #failAttempt(g: GroupState, p: Pending, error: string | null, delayMs: number | undefined, retries: RetryEntry[], deadNow = false, expired = false): Promise<void> {
    const { c, metrics } = this.#s;
    const at = readClock(c.clock);
    const failures = p.failures + 1;
    const history = { fd: p.firstDeliveredAt, ld: p.lastDeliveredAt };
    if (deadNow || failures >= c.options.maxDeliveries) {
      const k = g.deadSeq + 1;
      return this.#journal
        .record(RecordType.DEAD_INTENT, { g: g.name, o: p.offset, f: failures, due: wallFromMono(at, p.due), ...history, e: error, k }, () => {
          p.clearLease();
          Object.assign(p, { failures, lastError: error, deadSeq: k });
          g.deadSeq = k;
        })
        .then(() => {
          if (failures >= c.options.maxDeliveries) metrics.event({ type: 'maxDeliveriesReached', at: at.wall, topic: c.topic, partition: c.partition, group: g.name, offset: p.offset, attempts: failures, lastError: error });
          this.#outbox.send(g);
        });
    }
    const due = at.mono + (delayMs ?? backoffDelayMs(c.options.backoff, failures, c.random));
    const body = { g: g.name, o: p.offset, f: failures, due: wallFromMono(at, due), ...history, e: error };
    p.acking = true; // until its RETRY is written (at the end of the caller's command): not to be settled again, nor expired
    return new Promise<void>((resolve, reject) => retries.push({ g, p, failures, due, error, expired, body, resolve, reject }));
  }

  /**
   * Writes RETRY records in one append (one system call for a command's nacks, not one each); each
   * failed attempt takes effect once written (the message is free again after its backoff) and
   * resolves once durable. If the write fails, nothing changed: each rejects, its lease as it was.
   */
  #writeRetries(retries: readonly RetryEntry[]): void {
    if (retries.length === 0) return;
    const { c, metrics } = this.#s;
    const records = retries.map((r) => ({ type: RecordType.RETRY, body: r.body }));
    const durable = this.#journal.recordMany(records, () => {
      const now = c.clock.monotonicNow();
      for (const r of retries) {
        r.p.acking = false;
        r.g.fail(r.p, r.failures, r.due, r.error, now);
        const counters = metrics.group(r.g.name);
        if (r.expired) counters.redeliveredAfterLeaseExpiry++;
        else counters.redeliveredAfterNack++;
      }
    });
    // Not written (disk full, overloaded): the leases stand as they were, settleable again at once.
    for (const r of retries) r.p.acking = false;
    durable.then(
      () => retries.forEach((r) => r.resolve()),
      (error: unknown) => retries.forEach((r) => r.reject(error)),
    );
    this.#deliveries().arm();
    this.#deliveries().serve();
  }

  /** Ends the leases that ran out by `now`. */
  expire(now: number): void {
    const retries: RetryEntry[] = [];
    for (const g of this.#s.groups.values()) {
      for (const p of g.expire(now)) {
        if (p.acking || !p.lease) continue; // its ACK is being written this very tick
        // A message no handler took (it waited in a consumer's buffer) goes back uncharged.
        if (!p.lease.started) {
          g.unlease(p, now);
          continue;
        }
        // An expired lease counts as a failed attempt; the message is free again at once. If that
        // cannot be recorded (disk full), it is freed without charging: redelivery comes first.
        const token = p.lease.token;
        const { c, metrics } = this.#s;
        metrics.group(g.name).leasesExpired++;
        metrics.event({ type: 'leaseExpired', at: c.clock.now(), topic: c.topic, partition: c.partition, group: g.name, offset: p.offset, attempt: p.failures + 1 });
        this.#failAttempt(g, p, 'lease expired before ack', 0, retries, false, true).catch(() => {
          if (p.lease?.token === token) g.unlease(p, this.#s.c.clock.monotonicNow());
        });
      }
    }
    this.#writeRetries(retries);
  }
}
