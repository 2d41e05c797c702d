// Handing messages out: a fetch leases the group's ready messages (scanning the log past its
// cursor when too few are ready) or parks until some are, up to its wait; one timer, armed for the
// earliest of every group's lease deadlines and due times and every parked fetch's deadline,
// drives expiry and wakes parked fetches.
import type { ReadBatch, TimerHandle } from '../wal/index.ts';
import { OverloadedError } from '../wal/index.ts';
import { monoDueFromWall } from './clock-reading.ts';
import { decodeMetaAt, messageStarts } from './codec.ts';
import type { DeadLetterOutbox } from './dead-letter-outbox.ts';
import type { GroupState } from './group-state.ts';
import type { DeliveredMessage, FetchRequest, LeaseToken } from './partition-api.ts';
import { groupOf, type PartitionScope } from './partition-scope.ts';
import type { CachedBatch, RecordCache } from './record-cache.ts';
import { RecordType } from './records.ts';

/**
 * The batch a scan stopped in when its group reached limits.maxUnsettledPerGroup: each settle then
 * lets the group track one more message, and reading the batch again for it (up to 256 KiB, its
 * checksums checked) cost a key-ordered backlog 3.5 ms per message (a new-user trial, issue 11).
 * `kept`: the cached batch its tracked messages point at, reused while it still holds the bytes.
 */
interface ScanStop {
  readonly batch: ReadBatch;
  readonly starts: number[];
  kept: CachedBatch | undefined;
}

interface Waiter {
  readonly request: FetchRequest;
  readonly deadline: number;
  readonly resolve: (messages: DeliveredMessage[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Leases, parked fetches and the partition's one timer. */
export class PartitionDeliveries {
  readonly #s: PartitionScope;
  readonly #records: RecordCache;
  readonly #outbox: DeadLetterOutbox;
  /** Ends the leases that ran out (charging attempts where due): the settlement's policy. */
  readonly #expire: (now: number) => void;
  /** True for a delivery a prepared transaction acks (issue 13): not handed out while it waits. */
  readonly #reserved: (group: string, offset: number) => boolean;
  /** The last lease number (token) issued: numbered from `incarnation mod 2^29` up (see LeaseToken). */
  #leaseSeq: LeaseToken;
  /** Where the last scan stopped at a group's limit (one batch per partition, whichever group). */
  #scanStop: ScanStop | undefined;
  #waiters: Waiter[] = [];
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #timerKeepsAlive = false;
  #closed = false;

  constructor(scope: PartitionScope, records: RecordCache, outbox: DeadLetterOutbox, expire: (now: number) => void, reserved: (group: string, offset: number) => boolean = () => false) {
    this.#s = scope;
    this.#reserved = reserved;
    this.#records = records;
    this.#outbox = outbox;
    this.#expire = expire;
    this.#leaseSeq = scope.c.incarnation % 2 ** 29;
  }

  /** Leases up to `max` messages to a consumer; waits up to `waitMs` when none are ready. */
  fetch(request: FetchRequest): Promise<DeliveredMessage[]> {
    const { c, where } = this.#s;
    const now = c.clock.monotonicNow();
    this.#expire(now);
    const delivered = this.#deliver(request, now);
    if (delivered.length > 0 || request.waitMs <= 0) return Promise.resolve(delivered);
    if (this.#waiters.length >= c.limits.maxWaiters) return Promise.reject(new OverloadedError(c.limits.maxWaiters, `${where} already parks ${c.limits.maxWaiters} long-poll fetches (limits.maxWaiters)`));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ request, deadline: now + request.waitMs, resolve, reject });
      this.arm();
    });
  }

  #deliver(request: FetchRequest, now: number): DeliveredMessage[] {
    const { c, where } = this.#s;
    const g = groupOf(this.#s, request.group);
    let ready = g.takeReady(now, request.max);
    if (ready.length < request.max) {
      this.#scan(g, request.max - ready.length, now);
      ready = ready.concat(g.takeReady(now, request.max - ready.length));
    }
    // Reserved by a prepared transaction (after a restart: no lease): left out until its decision
    // (an abort schedules it again).
    if (ready.some((p) => this.#reserved(g.name, p.offset))) ready = ready.filter((p) => !this.#reserved(g.name, p.offset));
    if (ready.length === 0) return [];
    const wallNow = c.clock.now(); // the delivery times recorded with the message
    // Where each record lies (a batch payload and a range of it): no view per record until the copy.
    const sources: Uint8Array[] = new Array<Uint8Array>(ready.length);
    const starts: number[] = new Array<number>(ready.length);
    const ends: number[] = new Array<number>(ready.length);
    const published: number[] = new Array<number>(ready.length);
    let bytes = 0;
    const continues = (i: number): boolean => i > 0 && sources[i] === sources[i - 1] && starts[i] === ends[i - 1]! + 4;
    for (let i = 0; i < ready.length; i++) {
      const p = ready[i]!;
      const cached = p.cached;
      const payload = cached?.payload; // kept until settled: a redelivery reads it here too
      if (payload) {
        const at = p.offset - cached.base;
        sources[i] = payload;
        starts[i] = cached.starts[at]! + 4;
        ends[i] = cached.starts[at + 1]!;
        published[i] = cached.publishedAt;
      } else {
        const found = this.#records.read(p.offset, c.log, where); // evicted (or replayed: not scanned here)
        sources[i] = found.payload;
        starts[i] = found.start;
        ends[i] = found.end;
        published[i] = found.publishedAt;
      }
      // The next record of the same batch follows its length prefix: copied with the run it continues.
      bytes += continues(i) ? ends[i]! - ends[i - 1]! : ends[i]! - starts[i]!;
    }
    // One copy for the whole fetch: the records are views into read chunks that a held delivery
    // would otherwise pin, and one buffer per fetch spares an allocation per message. Records that
    // lie one after the other in a batch are copied as one run (one view and one copy per run).
    const copy = new Uint8Array(bytes);
    const out: DeliveredMessage[] = new Array<DeliveredMessage>(ready.length);
    let at = 0;
    let runFrom = 0; // the run being gathered: records runFrom..i-1, copied to copy[runAt..]
    let runAt = 0;
    // First deliveries published at one time (one batch): one histogram record for them, not one each.
    let sameAt = 0;
    let same = 0;
    const copyRun = (to: number): void => void (to > runFrom && copy.set(sources[runFrom]!.subarray(starts[runFrom], ends[to - 1]), runAt));
    for (let i = 0; i < ready.length; i++) {
      const p = ready[i]!;
      if (continues(i)) at += starts[i]! - ends[i - 1]!; // over the length prefix, copied with the run
      else {
        copyRun(i);
        runFrom = i;
        runAt = at;
      }
      const length = ends[i]! - starts[i]!;
      const publishedAt = published[i]!;
      if (p.firstDeliveredAt === 0) {
        if (publishedAt !== sameAt && same > 0) {
          this.#s.metrics.deliver.record(wallNow - sameAt, same);
          same = 0;
        }
        sameAt = publishedAt;
        same++;
      }
      const token = ++this.#leaseSeq;
      g.lease(p, request.consumerId, token, now, c.options.ackTimeoutMs, wallNow);
      out[i] = { offset: p.offset, token, attempt: p.failures + 1, bytes: copy, start: at, end: at + length, publishedAt };
      at += length;
    }
    copyRun(ready.length);
    if (same > 0) this.#s.metrics.deliver.record(wallNow - sameAt, same);
    if (out.length > 0) {
      this.#s.metrics.group(g.name).delivered += out.length;
      this.arm();
    }
    return out;
  }

  /** Moves the group's cursor over committed records until enough are ready or the limit is hit. */
  #scan(g: GroupState, want: number, now: number): void {
    const { c } = this.#s;
    const log = c.log;
    const limit = c.limits.maxUnsettledPerGroup;
    let fresh = 0; // newly tracked messages deliverable now
    const at = { wall: c.clock.now(), mono: now }; // delays are persisted as wall times
    while (fresh < want && g.pending.size < limit && g.cursor < log.committedEnd) {
      const from = Math.max(g.cursor, log.startOffset);
      const stop = this.#scanStop;
      const resumes = stop !== undefined && from >= stop.batch.baseOffset && from < stop.batch.baseOffset + stop.batch.recordCount;
      const batches = resumes ? [stop.batch] : log.read(from, { maxBytes: 256 * 1024 });
      if (batches.length === 0) break;
      for (const b of batches) {
        if (b.type !== RecordType.DATA) {
          g.cursor = Math.max(g.cursor, b.baseOffset + b.recordCount);
          continue;
        }
        const again = resumes && b === stop.batch;
        const starts = again ? stop.starts : messageStarts(b.payload);
        let kept: CachedBatch | undefined = again && stop.kept?.payload ? stop.kept : undefined;
        for (let i = 0; i + 1 < starts.length; i++) {
          const offset = b.baseOffset + i;
          if (offset < g.cursor) continue;
          if (g.pending.size >= limit) {
            this.#scanStop = { batch: b, starts, kept };
            return;
          }
          const meta = decodeMetaAt(b.payload, starts, i);
          if (meta.onlyGroup !== undefined && meta.onlyGroup !== g.name) {
            g.cursor = offset + 1; // another group's redriven letter: settled for this one
            continue;
          }
          const p = g.track(offset, meta.key, monoDueFromWall(at, meta.deliverAt, b.timestamp), now); // never later than the delay asked
          g.cursor = offset + 1;
          if (!p) continue;
          if (p.deadSeq > 0) {
            this.#outbox.send(g); // its DEAD_INTENT was replayed ahead of the cursor
            continue;
          }
          kept ??= this.#records.keep(b.baseOffset, b.payload, starts, b.timestamp);
          kept.waiting++;
          p.cached = kept;
          if (p.due <= now) fresh++;
        }
      }
    }
  }

  /** Answers parked fetches that can now be served (or whose wait is over), and re-arms the timer. */
  serve(): void {
    if (this.#waiters.length === 0 || this.#closed) return;
    const now = this.#s.c.clock.monotonicNow();
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
    this.arm();
  }

  /** Answers with nothing the parked fetches that `matches` picks (a leaving consumer, a deleted group). */
  answerEmpty(matches: (request: FetchRequest) => boolean): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!matches(w.request)) return true;
      w.resolve([]);
      return false;
    });
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    this.#expire(this.#s.c.clock.monotonicNow());
    this.serve();
    this.arm();
  }

  /** Arms the timer for the earliest lease deadline, due time or parked fetch deadline. */
  arm(): void {
    if (this.#closed) return;
    const { clock } = this.#s.c;
    let at = Number.POSITIVE_INFINITY;
    for (const g of this.#s.groups.values()) at = Math.min(at, g.nextTimerAt() ?? Number.POSITIVE_INFINITY);
    for (const w of this.#waiters) at = Math.min(at, w.deadline);
    const keepAlive = this.#waiters.length > 0;
    if (at >= this.#timerAt && keepAlive === this.#timerKeepsAlive) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timerKeepsAlive = keepAlive;
    if (at === Number.POSITIVE_INFINITY) return;
    // A consumer waiting in a long-poll keeps the process alive, as a broker client's socket would.
    this.#timer = clock.setTimer(Math.max(0, at - clock.monotonicNow()), () => this.#onTimer(), { keepAlive });
  }

  /** Stops the timer and answers every parked fetch with nothing. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    for (const w of this.#waiters) w.resolve([]);
    this.#waiters = [];
  }
}
