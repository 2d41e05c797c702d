// The partition actor: a single-threaded state machine that owns one partition's log and every
// consumer group's delivery state on it. It runs wherever its host puts it (the calling thread,
// a worker thread, the simulator) and reaches time, randomness and disk only through its seams.
//
//   publish ──► dedupe ──► append DATA ──► durable ──► reply offsets, wake fetches   (publisher)
//   fetch   ──► expire leases / due retries ──► scan from cursor ──► lease ready ones (deliveries)
//   ack     ──► settle in memory ──► ACK record (batched per tick) ──► durable ──► resolve
//   nack    ──► RETRY record (attempts, due) ──► after maxDeliveries: DEAD_INTENT    (settlement)
//   DEAD_INTENT ──► letter to the dead-letter topic ──► DEAD record                  (outbox)
//   every N records ──► checkpoint in parts ──► delete what nothing needs            (journal)
//
// This file composes those parts and answers the partition protocol's commands.
// Time: leases, retry and delay schedules, parked fetches and the dedupe window run on the
// monotonic clock (a wall-clock step moves none of them); records carry wall times.
import { readClock } from './clock-reading.ts';
import { DeadLetterOutbox } from './dead-letter-outbox.ts';
import { ClosedError, GroupConflictError } from './errors.ts';
import { GroupState } from './group-state.ts';
import type { DeliveredMessage, FetchRequest, LeaseToken, PartitionContext, PublishReply, PublishRequest } from './partition-api.ts';
import { PartitionDeliveries } from './partition-deliveries.ts';
import { PartitionJournal, type GroupStats } from './partition-journal.ts';
import { PartitionMetrics } from './partition-metrics.ts';
import { partitionStats, type PartitionStats } from './partition-stats.ts';
import type { NackCommandOptions, PartitionCommand, PartitionReplies, ReplyOf, SettleItem } from './partition-protocol.ts';
import { PartitionPublisher } from './partition-publisher.ts';
import { replayPartition } from './partition-replay.ts';
import type { PartitionScope } from './partition-scope.ts';
import { PartitionSettlement } from './partition-settlement.ts';
import { PartitionTransactions, PreparedTable } from './partition-transactions.ts';
import { OnceKeys, type OnceAnswer } from './once-keys.ts';
import { MessageIdWindow, ProducerTable } from './producer-state.ts';
import { RecordType, type CheckpointRecord, type GroupRecord, type Ordering } from './records.ts';
import { positionOffset, type GroupPosition } from './group-position.ts';
import { messageHistory, readMessages } from './partition-inspect.ts';
import { DEFAULT_RECORD_CACHE_BYTES, RecordCache, RecordCacheBudget } from './record-cache.ts';
import { OverloadedError, type FerryErrorWire } from '../wal/index.ts';
import type { CheckpointFailedError } from './state-errors.ts';
import type { SnapshotSpan } from './snapshot-parts.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

export type { DeadLetterSink, DeliveredMessage, FetchRequest, PartitionContext, PartitionLimits, PublishReply, PublishRequest } from './partition-api.ts';

/** The actor's own copy of its context: the topic's options change with ferry.alterTopic; its parts read them at each use. */
type LiveContext = Omit<PartitionContext, 'options'> & { options: ResolvedTopicOptions };

/** One partition's state machine: its log, its groups' delivery state, its producers and dedupe window. */
export class PartitionActor {
  readonly #c: LiveContext;
  readonly #ids: MessageIdWindow;
  readonly #scope: PartitionScope;
  /** Scanned, not yet delivered records (bounded): a delivery does not re-read its batch. */
  readonly #records: RecordCache;
  readonly #journal: PartitionJournal;
  readonly #publisher: PartitionPublisher;
  readonly #outbox: DeadLetterOutbox;
  readonly #deliveries: PartitionDeliveries;
  readonly #settlement: PartitionSettlement;
  readonly #txs: PartitionTransactions;
  readonly #once: OnceKeys;
  #closed = false;

  private constructor(c: LiveContext, groups: Map<string, GroupState>, producers: ProducerTable, ids: MessageIdWindow, replayed: SnapshotSpan | undefined, prepared: PreparedTable, once: OnceKeys) {
    this.#c = c;
    this.#ids = ids;
    this.#once = once;
    const where = `${c.topic}[${c.partition}]`;
    const metrics = c.metrics ?? new PartitionMetrics();
    this.#scope = { c, where, groups, checkOpen: () => this.#checkOpen(), metrics };
    this.#records = new RecordCache(c.recordCache ?? new RecordCacheBudget(c.limits.recordCacheBytes ?? DEFAULT_RECORD_CACHE_BYTES));
    this.#journal = new PartitionJournal(c, where, { groups, producers, records: this.#records, checkOpen: () => this.#checkOpen(), txs: prepared, once, ids }, replayed);
    this.#outbox = new DeadLetterOutbox(c, where, this.#records, this.#journal, () => this.#deliveries.serve(), metrics);
    this.#deliveries = new PartitionDeliveries(this.#scope, this.#records, this.#outbox, (now) => this.#settlement.expire(now), (group, offset) => prepared.reservedBy(group, offset) !== undefined);
    this.#settlement = new PartitionSettlement(this.#scope, this.#journal, this.#outbox, () => this.#deliveries, once);
    this.#publisher = new PartitionPublisher(c, producers, ids, { appended: (n) => this.#journal.counted(n), stored: () => this.#deliveries.serve() }, metrics);
    this.#txs = new PartitionTransactions(this.#scope, this.#journal, prepared, ids, this.#settlement, { appended: (n) => this.#journal.counted(n), stored: () => this.#deliveries.serve() }, once);
  }

  /** Replays the partition's log and starts the actor. */
  static open(c: PartitionContext): PartitionActor {
    const producers = new ProducerTable(c.limits.maxProducers, () => c.clock.monotonicNow()); // idle times are durations
    const ids = new MessageIdWindow(c.options.dedupWindowMs, c.limits.maxDedupIds);
    const at = readClock(c.clock);
    const prepared = new PreparedTable();
    const once = new OnceKeys(c.limits.maxOnceKeys, c.limits.onceKeyTtlMs);
    const { groups, checkpoint } = replayPartition(c.log, producers, ids, c.options.dedupWindowMs, at, prepared, once);
    const actor = new PartitionActor({ ...c }, groups, producers, ids, checkpoint, prepared, once);
    for (const g of groups.values()) {
      g.rescheduleAll(at.mono);
      actor.#outbox.send(g); // letters whose intent survived a crash are sent again, idempotently
    }
    actor.#deliveries.arm();
    return actor;
  }

  get topic(): string {
    return this.#c.topic;
  }

  get partition(): number {
    return this.#c.partition;
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
          return this.ensureGroup(command.group, command.ordering, command.startAt).then(() => null);
        case 'fetch':
          return this.fetch(command.request);
        case 'settle':
          return this.settle(command.group, command.items);
        case 'deleteGroup':
          return this.deleteGroup(command.group);
        case 'stats':
          return Promise.resolve(this.stats(command.events === true));
        case 'read':
          this.#checkOpen();
          return Promise.resolve(readMessages(this.#scope, command.from, command.limit));
        case 'history':
          this.#checkOpen();
          return Promise.resolve(messageHistory(this.#scope, command.offset));
        case 'resetGroup':
          return this.resetGroup(command.group, command.to);
        case 'txPrepare':
          return this.#txs.prepare(command);
        case 'txDecide':
          return this.#txs.decide(command.txId, command.commit);
        case 'txList':
          this.#checkOpen();
          return Promise.resolve(this.#txs.list());
        case 'once':
          return Promise.resolve(this.#checkOnce(command.group, command.key, command.offset, command.token));
        case 'alterTopic':
          this.#alter(command.options);
          return Promise.resolve(null);
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Takes the topic's new options (ferry.alterTopic, durable in the catalog first). Every part reads
   * them at its next use: new leases run the new ackTimeoutMs, the next failure counts against the
   * new maxDeliveries and backs off by the new backoff, the next retention check applies the new
   * bounds, ids published from now on are kept for the new dedupe window. The partition count and
   * dead-letter topic never change here (the engine refuses them).
   */
  #alter(options: ResolvedTopicOptions): void {
    this.#checkOpen();
    this.#c.options = options;
    this.#ids.windowMs = options.dedupWindowMs;
  }

  /** Appends a batch after dedupe; resolves once it is durable, with each message's offset. */
  publish(request: PublishRequest): Promise<PublishReply> {
    this.#checkOpen();
    return this.#publisher.publish(request);
  }

  /** Registers a group (idempotent): a new one receives the messages from `startAt` on (default: every message still in the log). */
  async ensureGroup(group: string, ordering: Ordering, startAt: GroupPosition = 'earliest'): Promise<void> {
    this.#checkOpen();
    const { groups, where } = this.#scope;
    const existing = groups.get(group);
    if (existing) {
      if (existing.ordering !== ordering) throw new GroupConflictError(group, existing.ordering, ordering);
      return;
    }
    const { maxGroups } = this.#c.limits;
    if (groups.size >= maxGroups) throw new OverloadedError(maxGroups, `${where} already has ${maxGroups} consumer groups (limits.maxGroups): delete unused ones with ferry.deleteGroup()`);
    const cursor = positionOffset(this.#scope, startAt);
    const record: GroupRecord = cursor === this.#c.log.startOffset ? { g: group, ord: ordering } : { g: group, ord: ordering, c: cursor };
    await this.#journal.record(RecordType.GROUP, record, () => groups.set(group, new GroupState(group, ordering, cursor)));
  }

  /**
   * Starts a group again at `to`, as one durable GROUP_RESET record (a crash leaves the old
   * position or the new one): its pending messages, leases, retries and parked fetches go, and
   * it receives every message from `to` on, acked before or not. Null if the group is not here.
   */
  async resetGroup(group: string, to: GroupPosition): Promise<{ from: number; to: number } | null> {
    this.#checkOpen();
    const { groups } = this.#scope;
    const g = groups.get(group);
    if (!g) return null;
    const cursor = positionOffset(this.#scope, to);
    let from = g.cursor;
    for (const offset of g.pending.keys()) from = Math.min(from, offset);
    await this.#journal.record(RecordType.GROUP_RESET, { g: group, ord: g.ordering, c: cursor } satisfies GroupRecord, () => {
      groups.set(group, new GroupState(group, g.ordering, cursor));
      this.#settlement.forgetGroup(group);
      this.#deliveries.answerEmpty((request) => request.group === group);
    });
    return { from, to: cursor };
  }

  /**
   * Forgets a group on this partition (its pending messages, leases and parked fetches), so it no
   * longer holds back retention. Resolves true if it existed, once the deletion is durable.
   */
  async deleteGroup(group: string): Promise<boolean> {
    this.#checkOpen();
    if (!this.#scope.groups.has(group)) return false;
    await this.#journal.record(RecordType.GROUP_DELETED, { g: group }, () => {
      this.#scope.groups.delete(group);
      this.#scope.metrics.forgetGroup(group);
      this.#settlement.forgetGroup(group);
      this.#once.forget(group);
      this.#deliveries.answerEmpty((request) => request.group === group);
    });
    return true;
  }

  /** Leases up to `max` messages to a consumer; waits up to `waitMs` when none are ready. */
  fetch(request: FetchRequest): Promise<DeliveredMessage[]> {
    this.#checkOpen();
    return this.#deliveries.fetch(request);
  }

  /**
   * Applies a consumer's settle queue in order (start, ack, nack, extend, release) and answers each
   * item, as plain data, once its effect is durable. A release never overtakes an ack given before it.
   */
  settle(group: string, items: readonly SettleItem[]): Promise<(FerryErrorWire | null)[]> {
    this.#checkOpen();
    return this.#settlement.settle(group, items);
  }

  /** Acknowledges a delivery; resolves once its ACK record is durable. */
  ack(group: string, offset: number, token: LeaseToken): Promise<void> {
    return this.#settlement.ack(group, offset, token);
  }

  /** A failed attempt: redelivered after the backoff (or `delayMs`), dead-lettered after maxDeliveries. */
  nack(group: string, offset: number, token: LeaseToken, options: NackCommandOptions = {}): Promise<void> {
    return this.#settlement.nack(group, offset, token, options);
  }

  /** Extends a lease by `ms` (default: the topic's ackTimeoutMs) from now. */
  extend(group: string, offset: number, token: LeaseToken, ms?: number): void {
    this.#settlement.extend(group, offset, token, ms);
  }

  /** Answers a consumer's parked fetches and, unless `leases` is false, hands its leases back uncharged. */
  release(consumerId: string, leases = true, offsets?: readonly number[], group?: string): void {
    this.#settlement.release(consumerId, leases, offsets, group);
  }

  /**
   * Why the last checkpoint failed (CHECKPOINT_FAILED, with the cause), until one succeeds. While
   * it is set, retention deletes nothing new and recovery replays from the last good checkpoint.
   */
  get lastCheckpointError(): CheckpointFailedError | undefined {
    return this.#journal.lastCheckpointError;
  }

  /** Offset of the latest durable checkpoint's first record (where replay starts), if any. */
  get checkpointOffset(): number | undefined {
    return this.#journal.checkpointOffset;
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
  retain(): Promise<number> {
    return this.#journal.retain();
  }

  /**
   * The partition's recovered state: the log's ends and what a checkpoint would record (leases
   * are not in it: they live in memory). For diagnostics, and for the simulator's check that
   * recovering the same disk twice gives the same state.
   */
  describe(): { readonly startOffset: number; readonly nextOffset: number; readonly committedEnd: number; readonly state: CheckpointRecord } {
    const log = this.#c.log;
    return { startOffset: log.startOffset, nextOffset: log.nextOffset, committedEnd: log.committedEnd, state: this.#journal.state() };
  }

  /** The partition's counters, histograms and gauges now; with `takeEvents`, its pending alert events (handed over once). */
  stats(takeEvents = false): PartitionStats {
    this.#checkOpen();
    return partitionStats(this.#scope, this.#scope.metrics, this.#journal.lastCheckpointError, takeEvents);
  }

  /** Group names and their backlog, for metrics and retention. */
  groupStats(): GroupStats[] {
    return this.#journal.groupStats();
  }

  /** d.once: whether the key was recorded with an ack of the group; if not, the asking delivery (whose lease must be current) claims it. */
  #checkOnce(group: string, key: string, offset: number, token: LeaseToken): OnceAnswer {
    this.#checkOpen();
    this.#settlement.checkLease(group, offset, token, 'once');
    const now = this.#c.clock.monotonicNow();
    const pending = this.#scope.groups.get(group)!.pending;
    const live = (o: number, t: LeaseToken): boolean => {
      const lease = pending.get(o)?.lease;
      return lease !== undefined && lease.token === t && lease.deadline > now;
    };
    return this.#once.check(group, key, offset, token, this.#c.clock.now(), live);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`partition ${this.#c.topic}[${this.#c.partition}]`);
    const failure = this.#c.log.failure;
    if (failure) throw failure;
  }

  /** Stops timers and answers parked fetches with nothing; the host closes the log. */
  close(): void {
    if (this.#closed) return;
    this.#settlement.flushAcks(); // acks given before close are written before the log closes
    this.#closed = true;
    this.#outbox.close();
    this.#records.clear(); // its bytes go back to the runtime's budget
    this.#deliveries.close();
  }
}
