// The partition actor: a single-threaded state machine that owns one partition's log and every
// consumer group's delivery state on it. It runs wherever its host puts it (the calling thread,
// a worker thread, the simulator) and reaches time, randomness and disk only through its seams.
//
//   publish ──► dedupe ──► append DATA ──► durable ──► reply offsets, wake fetches
//   fetch   ──► expire leases / due retries ──► scan from cursor ──► lease ready ones
//   ack     ──► settle in memory ──► ACK record (batched per tick) ──► durable ──► resolve
//   nack    ──► RETRY record (attempts, due) ──► after maxDeliveries: DEAD_INTENT, send, DEAD
//
// Time: leases, retry and delay schedules, parked fetches and the dedupe window run on the
// monotonic clock (a wall-clock step moves none of them); records carry wall times.
import type { TimerHandle } from '../wal/index.ts';
import { monoFromWall, readClock, wallFromMono } from './clock-reading.ts';
import { backoffDelayMs } from './backoff.ts';
import { decodeMeta, encodeControl, messageSlices } from './codec.ts';
import { dropDuplicateIds } from './publish-dedupe.ts';
import { retentionCut } from './retention.ts';
import { deadLetterRecord, type DeadLetterInfo } from './dead-letter.ts';
import { ClosedError, GroupConflictError, StaleDeliveryError, UnknownGroupError } from './errors.ts';
import { GroupState, type Pending } from './group-state.ts';
import { CHECKPOINT_KIND, replayPartition } from './partition-replay.ts';
import { MessageIdWindow, ProducerTable } from './producer-state.ts';
import type { DeliveredMessage, FetchRequest, PartitionContext, PublishReply, PublishRequest } from './partition-api.ts';
import { RecordType, type CheckpointRecord, type Ordering, type ProducerRecord } from './records.ts';
import { FerryError, InvalidArgumentError, OverloadedError, type FerryErrorWire } from '../wal/index.ts';
import type { NackCommandOptions, PartitionCommand, PartitionReplies, ReplyOf, SettleItem } from './partition-protocol.ts';
import { writeSnapshot, type SnapshotSpan } from './snapshot-parts.ts';
import { CheckpointFailedError } from './state-errors.ts';
import { appendRecord } from './append-record.ts';
import { MAX_ERROR_CHARS } from './partition-api.ts';

import { DEFAULT_RECORD_CACHE_BYTES, RecordCache, RecordCacheBudget } from './record-cache.ts';

/** An error as the protocol carries it: typed errors keep their code; anything else is INTERNAL. */
function wireError(error: unknown): FerryErrorWire {
  if (error instanceof FerryError) return error.toWire();
  return { code: 'INTERNAL', message: `internal error: ${error instanceof Error ? error.message : String(error)}`, retriable: false };
}


export type { DeadLetterSink, DeliveredMessage, FetchRequest, PartitionContext, PartitionLimits, PublishReply, PublishRequest } from './partition-api.ts';

interface Waiter {
  readonly request: FetchRequest;
  readonly deadline: number;
  readonly resolve: (messages: DeliveredMessage[]) => void;
  readonly reject: (error: unknown) => void;
}

interface AckBatch {
  offsets: number[];
  settle: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** One partition's state machine: its log, its groups' delivery state, its producers and dedupe window. */
export class PartitionActor {
  readonly #c: PartitionContext;
  readonly #groups: Map<string, GroupState>;
  readonly #producers: ProducerTable;
  readonly #ids: MessageIdWindow;
  #leaseSeq = 0;
  #waiters: Waiter[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #timerKeepsAlive = false;
  #acks = new Map<string, AckBatch>();
  #acksScheduled = false;
  #recordsSinceCheckpoint = 0;
  /** The latest durable checkpoint, and whether the log has grown since (else a new one is skipped). */
  #lastCheckpoint: SnapshotSpan | undefined;
  #checkpointError: CheckpointFailedError | undefined;
  /** A retention run started by the record count (at most one at a time). */
  #retaining: Promise<void> | undefined;
  readonly #deadSending = new Set<string>();
  /** Scanned, not yet delivered records (bounded): a delivery does not re-read its batch. */
  readonly #records: RecordCache;
  readonly #where: string;
  #closed = false;

  private constructor(c: PartitionContext, groups: Map<string, GroupState>, producers: ProducerTable, ids: MessageIdWindow, checkpoint: SnapshotSpan | undefined) {
    this.#c = c;
    this.#lastCheckpoint = checkpoint;
    this.#records = new RecordCache(c.recordCache ?? new RecordCacheBudget(c.limits.recordCacheBytes ?? DEFAULT_RECORD_CACHE_BYTES));
    this.#where = `${c.topic}[${c.partition}]`;
    this.#groups = groups;
    this.#producers = producers;
    this.#ids = ids;
  }

  /** Replays the partition's log and starts the actor. */
  static open(c: PartitionContext): PartitionActor {
    const producers = new ProducerTable(c.limits.maxProducers, () => c.clock.now());
    const ids = new MessageIdWindow(c.options.dedupWindowMs, c.limits.maxDedupIds);
    const at = readClock(c.clock);
    const { groups, checkpoint } = replayPartition(c.log, producers, ids, c.options.dedupWindowMs, at);
    const actor = new PartitionActor(c, groups, producers, ids, checkpoint);
    for (const g of groups.values()) {
      g.rescheduleAll(at.mono);
      actor.#sendDeadLetters(g); // letters whose intent survived a crash are sent again, idempotently
    }
    actor.#armTimer();
    return actor;
  }

  get topic(): string {
    return this.#c.topic;
  }

  /** Runs one command of the partition protocol: the one entry every runtime calls. */
  handle<C extends PartitionCommand>(command: C): Promise<ReplyOf<C>> {
    return this.#dispatch(command) as Promise<ReplyOf<C>>;
  }

  #dispatch(command: PartitionCommand): Promise<PartitionReplies[PartitionCommand['op']]> {
    try {
      switch (command.op) {
        case 'publish':
          return this.publish(command.request);
        case 'ensureGroup':
          return this.ensureGroup(command.group, command.ordering).then(() => null);
        case 'fetch':
          return this.fetch(command.request);
        case 'settle':
          return this.settle(command.group, command.items);
        case 'deleteGroup':
          return this.deleteGroup(command.group);
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  get partition(): number {
    return this.#c.partition;
  }

  /** Appends a batch after dedupe; resolves once it is durable, with each message's offset. */
  async publish(request: PublishRequest): Promise<PublishReply> {
    this.#checkOpen();
    const { wall: now, mono } = readClock(this.#c.clock); // now: record timestamps; mono: the dedupe window
    const { producer } = request;
    if (producer) {
      const seen = this.#producers.check(producer.id, producer.epoch, producer.baseSequence, request.count, producer.name);
      if (seen.kind === 'duplicate') {
        // The original may still be on its way to disk: confirmed only once it is there (a failed
        // sync rejects the retry too, as it did the original).
        await this.#c.log.sync();
        return { offsets: seen.offsets, duplicates: Array<boolean>(request.count).fill(true) };
      }
    }
    const { payload, count, offsets, duplicates, firstInBatch } = dropDuplicateIds(request, this.#c.options.dedupWindowMs > 0 ? this.#ids : undefined, mono);
    const log = this.#c.log;
    const before = log.nextOffset;
    // Every message of the batch gets its offset: the next ones in the log, or its original's.
    let next = before;
    for (let i = 0; i < offsets.length; i++) if (!duplicates[i]) offsets[i] = next++;
    for (let i = 0; i < offsets.length; i++) if (firstInBatch[i]! >= 0) offsets[i] = offsets[firstInBatch[i]!]!;
    const data = { type: RecordType.DATA, recordCount: count, payload, timestamp: now };
    const producerFields = producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.baseSequence } : {};
    // A batch whose duplicates were dropped holds fewer messages than sequence numbers: its
    // sequence range goes in a PRODUCER record, written in the same append, all or nothing.
    const sequenceRecord =
      producer && count < request.count
        ? { type: RecordType.PRODUCER, recordCount: 1, payload: encodeControl({ p: producer.id, e: producer.epoch, s: producer.baseSequence, n: request.count, o: offsets } satisfies ProducerRecord), timestamp: now }
        : undefined;
    const inputs = [...(count > 0 ? [{ ...data, ...(sequenceRecord ? {} : producerFields) }] : []), ...(sequenceRecord ? [sequenceRecord] : [])];
    if (inputs.length === 0) {
      // Every message repeats an id whose original may still be on its way to disk: confirmed
      // only once it is there (issue 9), as a retried batch is above.
      if (offsets.some((o) => o >= log.committedEnd)) await log.sync();
      return { offsets, duplicates };
    }
    const appended = log.appendMany(inputs);
    if (log.nextOffset === before) {
      await appended; // not written (disk full, overloaded, ...): rejects with the reason
      throw new Error('unreachable: an append that wrote nothing resolved');
    }
    if (producer) this.#producers.record(producer.id, producer.epoch, producer.baseSequence, request.count, sequenceRecord ? offsets : before);
    for (let i = 0; i < offsets.length; i++) {
      const id = request.ids?.[i];
      if (id && !duplicates[i]) this.#ids.add(id, offsets[i]!, mono);
    }
    this.#counted(inputs.length);
    await appended;
    this.#serveWaiters();
    return { offsets, duplicates };
  }

  /** Registers a group (idempotent): it will receive every message still in the log. */
  async ensureGroup(group: string, ordering: Ordering): Promise<void> {
    this.#checkOpen();
    const existing = this.#groups.get(group);
    if (existing) {
      if (existing.ordering !== ordering) throw new GroupConflictError(group, existing.ordering, ordering);
      return;
    }
    if (this.#groups.size >= this.#c.limits.maxGroups) throw new OverloadedError(this.#c.limits.maxGroups, `${this.#where} already has ${this.#c.limits.maxGroups} consumer groups (limits.maxGroups): delete unused ones with ferry.deleteGroup()`);
    await this.#record(RecordType.GROUP, { g: group, ord: ordering }, () => this.#groups.set(group, new GroupState(group, ordering, this.#c.log.startOffset)));
  }

  /**
   * Forgets a group on this partition (its pending messages, leases and parked fetches), so it no
   * longer holds back retention. Resolves true if it existed, once the deletion is durable.
   */
  async deleteGroup(group: string): Promise<boolean> {
    this.#checkOpen();
    if (!this.#groups.has(group)) return false;
    await this.#record(RecordType.GROUP_DELETED, { g: group }, () => {
      this.#groups.delete(group);
      this.#acks.delete(group);
      this.#waiters = this.#waiters.filter((w) => {
        if (w.request.group !== group) return true;
        w.resolve([]);
        return false;
      });
    });
    return true;
  }

  /**
   * Applies a consumer's settle queue in order (start, ack, nack, extend, release) and answers each
   * item, as plain data, once its effect is durable. The order is the consumer's: a release never
   * overtakes an ack given before it.
   */
  settle(group: string, items: readonly SettleItem[]): Promise<(FerryErrorWire | null)[]> {
    this.#checkOpen();
    // Synchronous items (start, extend, release) answer at once; only acks and nacks wait for
    // their records. One promise per waiting item, none for the rest (this runs per message).
    const results: (FerryErrorWire | null)[] = new Array<FerryErrorWire | null>(items.length).fill(null);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        const pending = this.#settleOne(group, items[i]!);
        if (pending) waits.push(pending.then(undefined, (error: unknown) => void (results[i] = wireError(error))));
      } catch (error) {
        results[i] = wireError(error);
      }
    }
    return waits.length === 0 ? Promise.resolve(results) : Promise.all(waits).then(() => results);
  }

  /** Applies one item; returns a promise only for what waits on a record (ack, nack). */
  #settleOne(group: string, item: SettleItem): Promise<void> | undefined {
    switch (item.kind) {
      case 'start': {
        const { g, p } = this.#leased(group, item.offset, item.token, 'start');
        g.start(p, this.#c.clock.monotonicNow(), this.#c.options.ackTimeoutMs);
        this.#armTimer();
        return undefined;
      }
      case 'ack':
        return this.ack(group, item.offset, item.token);
      case 'nack':
        return this.nack(group, item.offset, item.token, item.options);
      case 'extend':
        this.extend(group, item.offset, item.token, item.ms);
        return undefined;
      case 'release':
        this.release(item.consumerId, item.leases ?? true, item.offsets, group);
        return undefined;
    }
  }

  /** Leases up to `max` messages to a consumer; waits up to `waitMs` when none are ready. */
  fetch(request: FetchRequest): Promise<DeliveredMessage[]> {
    this.#checkOpen();
    const now = this.#c.clock.monotonicNow();
    this.#expire(now);
    const delivered = this.#deliver(request, now);
    if (delivered.length > 0 || request.waitMs <= 0) return Promise.resolve(delivered);
    if (this.#waiters.length >= this.#c.limits.maxWaiters) return Promise.reject(new OverloadedError(this.#c.limits.maxWaiters, `${this.#where} already parks ${this.#c.limits.maxWaiters} long-poll fetches (limits.maxWaiters)`));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ request, deadline: now + request.waitMs, resolve, reject });
      this.#armTimer();
    });
  }

  #group(name: string): GroupState {
    const g = this.#groups.get(name);
    if (!g) throw new UnknownGroupError(name, this.#where);
    return g;
  }

  #deliver(request: FetchRequest, now: number): DeliveredMessage[] {
    const g = this.#group(request.group);
    let ready = g.takeReady(now, request.max);
    if (ready.length < request.max) {
      this.#scan(g, request.max - ready.length, now);
      ready = ready.concat(g.takeReady(now, request.max - ready.length));
    }
    const out: DeliveredMessage[] = [];
    const wallNow = this.#c.clock.now(); // the delivery times recorded with the message
    for (const p of ready) {
      const found = this.#records.take(p.offset, this.#c.log, this.#where);
      const leaseSeq = ++this.#leaseSeq;
      const token = `${this.#c.incarnation}.${leaseSeq}`; // built once, compared on every settle
      g.lease(p, request.consumerId, leaseSeq, token, now, this.#c.options.ackTimeoutMs, wallNow);
      // A copy: the record is a view into a read chunk that a held delivery would otherwise pin.
      const record = Uint8Array.prototype.slice.call(found.record);
      out.push({ offset: p.offset, token, attempt: p.failures + 1, record, publishedAt: found.publishedAt, firstDeliveredAt: p.firstDeliveredAt });
    }
    if (out.length > 0) this.#armTimer();
    return out;
  }

  /** Moves the group's cursor over committed records until enough are ready or the limit is hit. */
  #scan(g: GroupState, want: number, now: number): void {
    const log = this.#c.log;
    const limit = this.#c.limits.maxUnsettledPerGroup;
    let fresh = 0; // newly tracked messages deliverable now
    const at = { wall: this.#c.clock.now(), mono: now }; // delays are persisted as wall times
    while (fresh < want && g.pending.size < limit && g.cursor < log.committedEnd) {
      const batches = log.read(Math.max(g.cursor, log.startOffset), { maxBytes: 256 * 1024 });
      if (batches.length === 0) break;
      for (const b of batches) {
        if (b.type !== RecordType.DATA) {
          g.cursor = Math.max(g.cursor, b.baseOffset + b.recordCount);
          continue;
        }
        const records = messageSlices(b.payload);
        for (let i = 0; i < records.length; i++) {
          const offset = b.baseOffset + i;
          if (offset < g.cursor) continue;
          if (g.pending.size >= limit) return;
          const meta = decodeMeta(records[i]!);
          if (meta.onlyGroup !== undefined && meta.onlyGroup !== g.name) {
            g.cursor = offset + 1; // another group's redriven letter: settled for this one
            continue;
          }
          const p = g.track(offset, meta.key, monoFromWall(at, meta.deliverAt), now);
          g.cursor = offset + 1;
          if (!p) continue;
          this.#records.put(offset, { record: records[i]!, publishedAt: b.timestamp });
          if (p.deadSeq > 0) this.#sendDeadLetters(g); // its DEAD_INTENT was replayed ahead of the cursor
          else if (p.due <= now) fresh++;
        }
      }
    }
  }



  #leased(group: string, offset: number, token: string, what: string): { g: GroupState; p: Pending } {
    this.#checkOpen();
    const g = this.#group(group);
    const p = g.pending.get(offset);
    if (!p || p.acking) throw new StaleDeliveryError(this.#c.topic, this.#c.partition, offset, `already settled, ${what} ignored`);
    if (!p.lease || p.lease.token !== token) {
      throw new StaleDeliveryError(this.#c.topic, this.#c.partition, offset, p.lease ? 'its lease ran out and it was leased again' : 'its lease expired');
    }
    if (p.lease.deadline <= this.#c.clock.monotonicNow()) throw new StaleDeliveryError(this.#c.topic, this.#c.partition, offset, 'its lease expired');
    return { g, p };
  }

  /**
   * Acknowledges a delivery. Every ack of the current tick goes into one ACK record; the messages
   * are settled once it is written, and the promise resolves once it is durable. An ack that
   * could not be written (disk full) rejects and leaves the lease as it was.
   */
  ack(group: string, offset: number, token: string): Promise<void> {
    const { p } = this.#leased(group, offset, token, 'ack');
    p.acking = true; // a second ack of it this tick is stale, and expiry leaves it alone
    return new Promise((resolve, reject) => {
      let batch = this.#acks.get(group);
      if (!batch) this.#acks.set(group, (batch = { offsets: [], settle: [] }));
      batch.offsets.push(offset);
      batch.settle.push({ resolve, reject });
      if (!this.#acksScheduled) {
        this.#acksScheduled = true;
        this.#c.clock.defer(() => this.#flushAcks()); // one ACK record for the acks of this turn
      }
    });
  }

  #flushAcks(): void {
    if (!this.#acksScheduled) return; // already flushed by close()
    this.#acksScheduled = false;
    const batches = this.#acks;
    this.#acks = new Map();
    for (const [group, batch] of batches) {
      const g = this.#groups.get(group)!;
      const now = this.#c.clock.monotonicNow();
      // An ordered group's next message of a key waits until this ACK is durable (a crash must not
      // bring the acked one back after it); settled at once otherwise.
      const holdKeys = g.ordering !== 'none';
      this.#record(RecordType.ACK, { g: group, o: batch.offsets }, () => {
        for (const offset of batch.offsets) g.settle(offset, now, holdKeys);
      }).then(
        () => {
          if (holdKeys) {
            for (const offset of batch.offsets) g.releaseKey(offset, this.#c.clock.monotonicNow());
            this.#serveWaiters();
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
    this.#serveWaiters(); // the next message of a settled key may go
  }

  /** A failed attempt: redelivered after the backoff (or `delayMs`), dead-lettered after maxDeliveries. */
  nack(group: string, offset: number, token: string, options: NackCommandOptions = {}): Promise<void> {
    const { error, delayMs } = options;
    if (error !== undefined && (typeof error !== 'string' || error.length > MAX_ERROR_CHARS)) {
      return Promise.reject(new InvalidArgumentError(`nack error must be a string of at most ${MAX_ERROR_CHARS} characters (it travels with the message and its dead letter)`));
    }
    if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
      return Promise.reject(new InvalidArgumentError(`nack delayMs must be a finite, non-negative number (got ${String(delayMs)})`));
    }
    const { g, p } = this.#leased(group, offset, token, 'nack');
    return this.#failAttempt(g, p, error ?? null, delayMs, options.deadLetter === true);
  }

  /** Extends a lease by `ms` (default: the topic's ackTimeoutMs) from now. */
  extend(group: string, offset: number, token: string, ms?: number): void {
    const { g, p } = this.#leased(group, offset, token, 'extend');
    g.extend(p, this.#c.clock.monotonicNow(), ms ?? this.#c.options.ackTimeoutMs);
    this.#armTimer();
  }

  /**
   * Answers a consumer's parked fetches and, unless `leases` is false, ends its leases without
   * charging an attempt: those of `offsets` (deliveries its handlers never took), or all of them.
   */
  release(consumerId: string, leases = true, offsets?: readonly number[], group?: string): void {
    const now = this.#c.clock.monotonicNow();
    const groups = group === undefined ? [...this.#groups.values()] : [this.#groups.get(group)].filter((g) => g !== undefined);
    for (const g of leases ? groups : []) {
      if (offsets) {
        for (const offset of offsets) {
          const p = g.pending.get(offset);
          if (p?.lease?.consumerId === consumerId && !p.acking) g.unlease(p, now);
        }
      } else for (const p of g.pending.values()) if (p.lease?.consumerId === consumerId && !p.acking) g.unlease(p, now);
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (w.request.consumerId !== consumerId) return true;
      w.resolve([]);
      return false;
    });
    this.#serveWaiters();
  }

  async #failAttempt(g: GroupState, p: Pending, error: string | null, delayMs: number | undefined, deadNow = false): Promise<void> {
    const at = readClock(this.#c.clock);
    const failures = p.failures + 1;
    const history = { fd: p.firstDeliveredAt, ld: p.lastDeliveredAt };
    if (deadNow || failures >= this.#c.options.maxDeliveries) {
      const k = g.deadSeq + 1;
      await this.#record(RecordType.DEAD_INTENT, { g: g.name, o: p.offset, f: failures, due: wallFromMono(at, p.due), ...history, e: error, k }, () => {
        Object.assign(p, { lease: undefined, failures, lastError: error, deadSeq: k });
        g.deadSeq = k;
      });
      this.#sendDeadLetters(g);
      return;
    }
    const due = at.mono + (delayMs ?? backoffDelayMs(this.#c.options.backoff, failures, this.#c.random));
    const durable = this.#record(RecordType.RETRY, { g: g.name, o: p.offset, f: failures, due: wallFromMono(at, due), ...history, e: error }, () => g.fail(p, failures, due, error, at.mono));
    this.#armTimer();
    this.#serveWaiters();
    await durable;
  }

  /** Sends the group's dying messages to the dead-letter topic, one at a time in sequence order. */
  #sendDeadLetters(g: GroupState): void {
    if (this.#deadSending.has(g.name) || this.#closed) return;
    const next = g.dying().sort((a, b) => a.deadSeq - b.deadSeq)[0];
    if (!next) return;
    this.#deadSending.add(g.name);
    const { deadLetter } = this.#c.options;
    const send = async (): Promise<void> => {
      // Its DEAD_INTENT must be durable before the letter leaves (issue 17, seed 752587): a letter
      // sent for an intent that a power loss then takes back lends its sequence number to another
      // message's letter, which the dead-letter topic would answer as a duplicate and never store.
      if (this.#c.log.committedEnd < this.#c.log.nextOffset) await this.#c.log.sync();
      if (deadLetter !== false && this.#c.deadLetters) {
        const { record } = this.#records.read(next.offset, this.#c.log, this.#where);
        const info: DeadLetterInfo = { topic: this.#c.topic, partition: this.#c.partition, offset: next.offset, group: g.name, attempts: next.failures, firstDeliveredAt: next.firstDeliveredAt, lastDeliveredAt: next.lastDeliveredAt, lastError: next.lastError };
        await this.#c.deadLetters({ deadLetterTopic: deadLetter, producerKey: `dlq/${this.#c.topic}/${this.#c.partition}/${g.name}`, sequence: next.deadSeq - 1, record: deadLetterRecord(record, info, this.#c.maxMessageBytes), info });
      }
      await this.#record(RecordType.DEAD, { g: g.name, o: next.offset }, () => g.settle(next.offset, this.#c.clock.monotonicNow(), true));
      g.releaseKey(next.offset, this.#c.clock.monotonicNow()); // durable now: the next message of its key may go
    };
    send().then(
      () => {
        this.#deadSending.delete(g.name);
        this.#serveWaiters();
        this.#sendDeadLetters(g);
      },
      () => {
        // The dead-letter topic is unavailable (or this partition failed): try again later.
        this.#deadSending.delete(g.name);
        if (!this.#closed && !this.#c.log.failure) this.#c.clock.setTimer(1000, () => this.#sendDeadLetters(g));
      },
    );
  }

  #expire(now: number): void {
    for (const g of this.#groups.values()) {
      for (const p of g.expire(now)) {
        if (p.acking || !p.lease) continue; // its ACK is being written this very tick
        // A message no handler took (it waited in a consumer's buffer) goes back uncharged.
        if (!p.lease.started) {
          g.unlease(p, now);
          continue;
        }
        // An expired lease counts as a failed attempt; the message is free again at once. If that
        // cannot be recorded (disk full), it is freed without charging: redelivery comes first.
        const leaseSeq = p.lease.seq;
        this.#failAttempt(g, p, 'lease expired before ack', 0).catch(() => {
          if (p.lease?.seq === leaseSeq) g.unlease(p, this.#c.clock.monotonicNow());
        });
      }
    }
  }

  #serveWaiters(): void {
    if (this.#waiters.length === 0 || this.#closed) return;
    const now = this.#c.clock.monotonicNow();
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      // Called from timers and from ack/nack: a failed read (a corrupt batch, a dead disk) must
      // reach the fetch that asked, never escape into the caller or the event loop.
      let delivered: DeliveredMessage[];
      try {
        delivered = this.#deliver(w.request, now);
      } catch (error) {
        w.reject(error);
        continue;
      }
      if (delivered.length > 0) w.resolve(delivered);
      else if (w.deadline <= now) w.resolve([]);
      else this.#waiters.push(w);
    }
    this.#armTimer();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    this.#expire(this.#c.clock.monotonicNow());
    this.#serveWaiters();
    this.#armTimer();
  }

  #armTimer(): void {
    if (this.#closed) return;
    let at = Number.POSITIVE_INFINITY;
    for (const g of this.#groups.values()) at = Math.min(at, g.nextTimerAt() ?? Number.POSITIVE_INFINITY);
    for (const w of this.#waiters) at = Math.min(at, w.deadline);
    const keepAlive = this.#waiters.length > 0;
    if (at >= this.#timerAt && keepAlive === this.#timerKeepsAlive) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timerKeepsAlive = keepAlive;
    if (at === Number.POSITIVE_INFINITY) return;
    // A consumer waiting in a long-poll keeps the process alive, as a broker client's socket would.
    this.#timer = this.#c.clock.setTimer(Math.max(0, at - this.#c.clock.monotonicNow()), () => this.#onTimer(), { keepAlive });
  }

  /** Logs a state change: `apply` runs only if the record was written; resolves once durable. */
  #record(type: number, body: unknown, apply: () => void): Promise<void> {
    return appendRecord(this.#c.log, { type, recordCount: 1, payload: encodeControl(body), timestamp: this.#c.clock.now() }, () => {
      apply();
      this.#counted(1);
    });
  }

  #counted(records: number): void {
    this.#recordsSinceCheckpoint += records;
    if (this.#recordsSinceCheckpoint < this.#c.limits.checkpointEveryRecords || this.#retaining) return;
    // Not swallowed: a failed checkpoint stays in lastCheckpointError until one succeeds, and
    // retention's next run (the runtime's timer, or this count again) retries it. Any other
    // failure here is the log's own, which it reports to the next append.
    this.#retaining = this.retain().then(
      () => (this.#retaining = undefined),
      () => (this.#retaining = undefined),
    );
  }

  /**
   * Appends a snapshot of every group and producer, in parts (core/snapshot-parts.ts: no batch
   * limit caps its size), and resolves with the offset of its first record once durable: replay
   * starts there. Skipped when nothing was appended since the last one, which still holds.
   */
  async #checkpoint(): Promise<number> {
    const log = this.#c.log;
    if (this.#lastCheckpoint && this.#lastCheckpoint.end === log.nextOffset) return this.#lastCheckpoint.at;
    this.#recordsSinceCheckpoint = 0;
    try {
      this.#lastCheckpoint = await writeSnapshot(log, CHECKPOINT_KIND, this.#state(), this.#c.clock.now(), this.#c.limits.checkpointPartBytes);
      this.#checkpointError = undefined;
      return this.#lastCheckpoint.at;
    } catch (error) {
      this.#checkpointError = new CheckpointFailedError(this.#where, error);
      throw this.#checkpointError;
    }
  }

  /**
   * Why the last checkpoint failed (CHECKPOINT_FAILED, with the cause), until one succeeds. While
   * it is set, retention deletes nothing new and recovery replays from the last good checkpoint.
   */
  get lastCheckpointError(): CheckpointFailedError | undefined {
    return this.#checkpointError;
  }

  /** Offset of the latest durable checkpoint's first record (where replay starts), if any. */
  get checkpointOffset(): number | undefined {
    return this.#lastCheckpoint?.at;
  }

  /**
   * Writes a checkpoint, then deletes whole segments that no group needs (every message in them
   * settled by every group, and their message ids out of the dedupe window) and, past
   * `retention.ms` or `retention.bytes`, the oldest segments even if unsettled: their messages
   * expire. Nothing is deleted unless the checkpoint is durable (replay must never need a deleted
   * segment), and never a message being dead-lettered (its letter's sequence must be sent).
   * Resolves with the number of segments deleted; rejects with CHECKPOINT_FAILED (also kept in
   * `lastCheckpointError`) when the checkpoint could not be written, deleting nothing.
   */
  async retain(): Promise<number> {
    this.#checkOpen();
    const checkpointAt = await this.#checkpoint();
    const log = this.#c.log;
    const at = readClock(this.#c.clock);
    const stats = this.groupStats();
    const cut = retentionCut({
      segments: log.segments(),
      startOffset: log.startOffset,
      checkpointAt,
      // With no group yet, keep everything for the first one.
      settledBelow: stats.length === 0 ? log.startOffset : Math.min(...stats.map((g) => g.floor)),
      firstDying: Math.min(Number.POSITIVE_INFINITY, ...[...this.#groups.values()].flatMap((g) => g.dying().map((p) => p.offset))),
      options: this.#c.options,
      now: at.wall, // segment timestamps are wall times
    });
    if (cut <= log.startOffset) return 0;
    // Messages that expire unsettled are dropped from every group before their segments go.
    for (const g of this.#groups.values()) g.dropBelow(cut, at.mono);
    this.#records.dropBelow(cut);
    return log.deleteBefore(cut);
  }

  /** Every group's and producer's state, as a checkpoint records it (due times as wall times as of `at`). */
  #state(at = readClock(this.#c.clock)): CheckpointRecord {
    return { groups: Object.fromEntries([...this.#groups].map(([name, g]) => [name, g.snapshot(at)])), producers: this.#producers.snapshot() };
  }

  /**
   * The partition's recovered state: the log's ends and what a checkpoint would record (leases
   * are not in it: they live in memory). For diagnostics, and for the simulator's check that
   * recovering the same disk twice gives the same state.
   */
  describe(): { readonly startOffset: number; readonly nextOffset: number; readonly committedEnd: number; readonly state: CheckpointRecord } {
    const log = this.#c.log;
    return { startOffset: log.startOffset, nextOffset: log.nextOffset, committedEnd: log.committedEnd, state: this.#state() };
  }

  /** Group names and their backlog, for metrics and retention. */
  groupStats(): { group: string; cursor: number; unsettled: number; floor: number }[] {
    return [...this.#groups.values()].map((g) => {
      let floor = g.cursor;
      for (const offset of g.pending.keys()) floor = Math.min(floor, offset);
      return { group: g.name, cursor: g.cursor, unsettled: g.pending.size, floor };
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`partition ${this.#c.topic}[${this.#c.partition}]`);
    const failure = this.#c.log.failure;
    if (failure) throw failure;
  }

  /** Stops timers and answers parked fetches with nothing; the host closes the log. */
  close(): void {
    if (this.#closed) return;
    if (this.#acksScheduled) this.#flushAcks(); // acks given before close are written before the log closes
    this.#closed = true;
    this.#records.clear(); // its bytes go back to the runtime's budget
    this.#timer?.cancel();
    for (const w of this.#waiters) w.resolve([]);
    this.#waiters = [];
  }
}
