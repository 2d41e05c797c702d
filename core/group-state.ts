// The delivery state of one consumer group on one partition: which messages are unsettled, which
// are leased to whom until when, which wait for a retry or a delay, and which wait behind an
// earlier message of their key. Pure and synchronous: the partition actor does the I/O.
//
// Invariant: every DATA offset below `cursor` is settled unless it is in `pending`; offsets at or
// above `cursor` have not been handed out since the last restart (replay notes the ones settled
// or retried meanwhile in `aheadSettled` / `aheadRetry`).
//
// Time: every `now`, due time and lease deadline here is monotonic (Clock.monotonicNow), so a step
// of the wall clock neither expires a lease nor moves a retry. Only firstDeliveredAt and
// lastDeliveredAt are wall times; snapshot() and restore() convert due times to and from the wall
// times that are persisted.
import { monoDueFromWall, wallFromMono, type ClockReading } from './clock-reading.ts';
import { MinHeap, type HeapEntry } from './min-heap.ts';
import { OffsetMap } from './offset-map.ts';
import type { LeaseToken } from './partition-api.ts';
import type { CachedBatch } from './record-cache.ts';
import type { GroupSnapshot, Ordering, PendingSnapshot } from './records.ts';

/**
 * A message's current lease. `started` once the consumer's handler took the message: only then
 * does an expiry charge an attempt (a message waiting in a consumer's buffer never ages toward one).
 */
export interface PendingLease {
  /** The lease's number, which is its token (consecutive within a fetch). */
  readonly token: LeaseToken;
  readonly consumerId: string;
  deadline: number;
  started: boolean;
  /**
   * The deadline moved later than its lease-heap entries without one of its own (a start): the
   * latest entry, when it pops, makes one. A flag, not the entry's time: a number field would be
   * a heap number per message.
   */
  unheaped: boolean;
  startedAt: number | undefined;
}

/**
 * One unsettled message of the group. Its lease's fields live on it (`lease` is the message
 * itself while leased): a lease is made per delivery, and an object per lease was garbage per message.
 */
export class Pending implements PendingLease {
  readonly offset: number;
  readonly key: string | undefined;
  /** Failed attempts so far (durable). */
  failures: number;
  /** Not delivered before this monotonic time (persisted as wall time). */
  due: number;
  /** Wall times (0 = never delivered). */
  firstDeliveredAt: number;
  lastDeliveredAt: number;
  lastError: string | null;
  /** Dead-letter sequence number once dead-lettering began (0 = not dying). */
  deadSeq: number;
  /** Acked this tick, its ACK record not yet written: not to be acked again, nor expired. */
  acking = false;
  /** The scanned batch holding its record until it is settled (the partition's record cache). */
  cached: CachedBatch | undefined = undefined;
  /** The takeReady call that last took it (spares a Set per fetch to skip an offset queued twice). */
  takenBy = 0;
  // The lease, meaningful while `leased` (see PendingLease).
  token = 0;
  consumerId = '';
  deadline = 0;
  started = false;
  unheaped = false;
  startedAt: number | undefined = undefined;

  constructor(offset: number, key: string | undefined, retry: Partial<RetryState> | undefined, due: number) {
    this.offset = offset;
    this.key = key;
    this.failures = retry?.failures ?? 0;
    this.due = due;
    this.firstDeliveredAt = retry?.firstDeliveredAt ?? 0;
    this.lastDeliveredAt = retry?.lastDeliveredAt ?? 0;
    this.lastError = retry?.lastError ?? null;
    this.deadSeq = retry?.deadSeq ?? 0;
  }

  /** The current lease, or undefined when none (token 0: lease numbers start above it). */
  get lease(): PendingLease | undefined {
    return this.token !== 0 ? this : undefined;
  }

  /** Leases it until `deadline` (monotonic); not started yet. */
  setLease(token: LeaseToken, consumerId: string, deadline: number): void {
    this.token = token;
    this.consumerId = consumerId;
    this.deadline = deadline;
    this.started = false;
    this.unheaped = false;
    this.startedAt = undefined;
  }

  clearLease(): void {
    this.token = 0;
  }
}

/** The durable part of a pending message, as replay finds it in RETRY records. */
export interface RetryState {
  readonly failures: number;
  /** Monotonic, as everything in memory: replay converts the persisted wall time. */
  readonly due: number;
  readonly firstDeliveredAt: number;
  readonly lastDeliveredAt: number;
  readonly lastError: string | null;
  readonly deadSeq: number;
}

interface DueEntry extends HeapEntry { readonly offset: number }
/**
 * Leases that run out at `at`: offsets[i] holds the lease numbered (its token) leaseSeq + i. One
 * entry for the leases of a fetch (one deadline, consecutive lease numbers), not one per message.
 */
interface LeaseEntry extends HeapEntry { readonly offsets: number[]; readonly leaseSeq: LeaseToken }

/** A first-in first-out queue of offsets: an array read from a head, cut back once mostly read. */
class OffsetQueue {
  #items: number[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(offset: number): void {
    this.#items.push(offset);
  }

  /** The oldest offset (call only when size > 0). */
  shift(): number {
    const offset = this.#items[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return offset;
  }
}

/** Delivery state of one consumer group on one partition (see the invariant at the top of the file). */
export class GroupState {
  readonly name: string;
  readonly ordering: Ordering;
  cursor: number;
  /** Dead letters sent by this group from this partition (the sequence of their idempotent publish). */
  deadSeq = 0;
  readonly pending = new OffsetMap<Pending>();
  readonly aheadSettled = new Set<number>();
  readonly aheadRetry = new Map<number, RetryState>();
  /** Messages never delivered, ready now, in the order they became ready. */
  readonly #ready = new OffsetQueue();
  /**
   * Messages delivered before (a retry falling due, a lease handed back), ready now: taken before
   * the fresh ones, as a broker requeues at the head, so a retry does not wait behind the backlog.
   */
  readonly #again = new OffsetQueue();
  readonly #dueHeap = new MinHeap<DueEntry>();
  readonly #leaseHeap = new MinHeap<LeaseEntry>();
  /** The lease heap's newest entry while later leases may still join it (same deadline, next lease number). */
  #openLeaseEntry: LeaseEntry | undefined;
  /** Unsettled offsets per ordering key, ascending; only the first may be in flight. */
  readonly #keyQueues = new Map<string, number[]>();
  /** Settled offsets still heading their key's queue until their record is durable (see settle). */
  readonly #heldKeys = new Map<number, string>();
  #seq = 0;
  /** Counts takeReady calls (see Pending.takenBy). */
  #takes = 0;

  constructor(name: string, ordering: Ordering, cursor: number) {
    this.name = name;
    this.ordering = ordering;
    this.cursor = cursor;
  }

  #orderKey(p: Pending): string | undefined {
    if (this.ordering === 'partition') return '';
    if (this.ordering === 'key') return p.key;
    return undefined;
  }

  #isHead(p: Pending): boolean {
    const k = this.#orderKey(p);
    return k === undefined || this.#keyQueues.get(k)?.[0] === p.offset;
  }

  /**
   * Starts tracking a message the cursor reached (or a replayed one); returns it unless settled.
   * `deliverAt` is the monotonic time of its delay's end (-Infinity for none).
   */
  track(offset: number, key: string | undefined, deliverAt: number, now: number, schedule = true): Pending | undefined {
    if (this.aheadSettled.delete(offset)) return undefined;
    const retry = this.aheadRetry.get(offset);
    this.aheadRetry.delete(offset);
    const p = new Pending(offset, key, retry, Math.max(retry?.due ?? Number.NEGATIVE_INFINITY, deliverAt));
    this.pending.set(offset, p);
    const k = this.#orderKey(p);
    if (k !== undefined) {
      const queue = this.#keyQueues.get(k);
      if (queue) queue.push(offset);
      else this.#keyQueues.set(k, [offset]);
    }
    if (schedule) this.#schedule(p, now);
    return p;
  }

  /** Puts a free message where it will be picked up: the ready queue, or the due heap. */
  #schedule(p: Pending, now: number): void {
    if (p.lease || p.deadSeq > 0 || !this.#isHead(p)) return;
    if (p.due <= now) (p.firstDeliveredAt > 0 || p.failures > 0 ? this.#again : this.#ready).push(p.offset);
    else this.#dueHeap.push({ at: p.due, seq: this.#seq++, offset: p.offset });
  }

  /** Moves due retries to the ready queue; returns the leases that expired (still leased). */
  expire(now: number): Pending[] {
    for (let e = this.#dueHeap.peek(); e && e.at <= now; e = this.#dueHeap.peek()) {
      this.#dueHeap.pop();
      const p = this.pending.get(e.offset);
      if (p && p.due === e.at) this.#schedule(p, now);
    }
    const expired: Pending[] = [];
    let seen: Set<Pending> | undefined;
    for (let e = this.#leaseHeap.peek(); e && e.at <= now; e = this.#leaseHeap.peek()) {
      this.#leaseHeap.pop();
      if (e === this.#openLeaseEntry) this.#openLeaseEntry = undefined;
      for (let i = 0; i < e.offsets.length; i++) {
        const p = this.pending.get(e.offsets[i]!);
        if (!p?.lease || p.lease.token !== e.leaseSeq + i) continue; // an older lease's entry
        if (p.lease.deadline > e.at) {
          // Started after this entry was made: its deadline moved without an entry (start); make one.
          if (p.lease.unheaped) {
            p.lease.unheaped = false;
            this.#leaseHeap.push({ at: p.lease.deadline, seq: this.#seq++, offsets: [p.offset], leaseSeq: p.lease.token });
          }
          continue;
        }
        // An extend that lands on the same deadline leaves two equal entries: one expiry each lease.
        if (p.lease.deadline !== e.at || seen?.has(p)) continue;
        (seen ??= new Set()).add(p);
        expired.push(p);
      }
    }
    return expired;
  }

  /** Up to `max` messages deliverable now: redeliveries first, then fresh ones, each in the order they became ready. */
  takeReady(now: number, max: number): Pending[] {
    const out: Pending[] = [];
    const take = ++this.#takes;
    this.#takeFrom(this.#again, out, take, now, max);
    this.#takeFrom(this.#ready, out, take, now, max);
    return out;
  }

  #takeFrom(queue: OffsetQueue, out: Pending[], take: number, now: number, max: number): void {
    while (out.length < max && queue.size > 0) {
      const offset = queue.shift();
      const p = this.pending.get(offset);
      if (!p || p.lease || p.deadSeq !== 0 || !this.#isHead(p) || p.takenBy === take) continue;
      if (p.due > now) {
        // Scheduled as due by a later reading of the clock than this `now` (a lease expiry that
        // a fetch's expiry pass charged a moment after the fetch read the clock): it must not
        // leave the ready queue for nowhere, or it is never delivered again.
        this.#dueHeap.push({ at: p.due, seq: this.#seq++, offset });
        continue;
      }
      p.takenBy = take;
      out.push(p);
    }
  }

  get readyCount(): number {
    return this.#ready.size + this.#again.size;
  }

  /** Leases `p` to `consumerId` until `now + timeoutMs` under lease number `leaseSeq` (its token); `wallNow` is recorded as its delivery time. */
  lease(p: Pending, consumerId: string, leaseSeq: LeaseToken, now: number, timeoutMs: number, wallNow: number): void {
    p.setLease(leaseSeq, consumerId, now + timeoutMs);
    if (p.firstDeliveredAt === 0) p.firstDeliveredAt = wallNow;
    p.lastDeliveredAt = wallNow;
    const open = this.#openLeaseEntry;
    if (open && open.at === p.deadline && open.leaseSeq + open.offsets.length === leaseSeq) open.offsets.push(p.offset);
    else {
      this.#openLeaseEntry = { at: p.deadline, seq: this.#seq++, offsets: [p.offset], leaseSeq };
      this.#leaseHeap.push(this.#openLeaseEntry);
      this.#compactHeaps();
    }
  }

  /** The handler took `p`: its lease runs `ms` from now, and an expiry now charges an attempt. */
  start(p: Pending, now: number, ms: number): void {
    if (!p.lease) return;
    p.lease.started = true;
    // A full lease from now, exactly. No heap entry now (this runs per message): the entry of the
    // fetch's deadline, when it pops, makes one for the later deadline (see expire).
    if (now + ms > p.lease.deadline) {
      p.lease.deadline = now + ms;
      p.lease.unheaped = true;
    }
  }

  extend(p: Pending, now: number, ms: number): void {
    if (!p.lease) return;
    p.lease.deadline = now + ms;
    p.lease.unheaped = false;
    this.#leaseHeap.push({ at: p.lease.deadline, seq: this.#seq++, offsets: [p.offset], leaseSeq: p.lease.token });
    this.#compactHeaps();
  }

  /**
   * Settles `offset` for good (acked or dead-lettered); the next message of its key may go. With
   * `holdKey` the offset stays at the head of its key's queue until `releaseKey` (its record is
   * written but not yet durable: the next message of the key must not overtake it after a crash).
   */
  settle(offset: number, now: number, holdKey = false): void {
    const p = this.pending.get(offset);
    if (!p) {
      if (offset >= this.cursor) this.aheadSettled.add(offset);
      this.aheadRetry.delete(offset);
      return;
    }
    this.pending.delete(offset);
    p.cached?.settledOne();
    const k = this.#orderKey(p);
    if (k === undefined) return;
    if (holdKey) {
      this.#heldKeys.set(offset, k);
      return;
    }
    this.#advanceKey(k, offset, now);
  }

  /** The settle of `offset` is durable: the next message of its key may go. */
  releaseKey(offset: number, now: number): void {
    const k = this.#heldKeys.get(offset);
    if (k === undefined) return;
    this.#heldKeys.delete(offset);
    this.#advanceKey(k, offset, now);
  }

  #advanceKey(k: string, offset: number, now: number): void {
    const queue = this.#keyQueues.get(k);
    if (!queue) return;
    const at = queue.indexOf(offset);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.#keyQueues.delete(k);
    else {
      const head = this.pending.get(queue[0]!);
      if (head) this.#schedule(head, now); // a head settled but not yet durable is released later
    }
  }

  /** Records a failed attempt: the lease ends and the message waits until `due`. */
  fail(p: Pending, failures: number, due: number, error: string | null, now: number): void {
    p.clearLease();
    p.failures = failures;
    p.due = due;
    p.lastError = error;
    this.#schedule(p, now);
  }

  /** Ends a lease without charging an attempt (the consumer closed). */
  unlease(p: Pending, now: number): void {
    p.clearLease();
    this.#schedule(p, now);
  }

  /** Applies a replayed RETRY/DEAD_INTENT record. */
  replayRetry(offset: number, state: RetryState): void {
    const p = this.pending.get(offset);
    if (!p) {
      if (offset >= this.cursor) this.aheadRetry.set(offset, state);
      return;
    }
    Object.assign(p, { failures: state.failures, due: state.due, firstDeliveredAt: state.firstDeliveredAt, lastDeliveredAt: state.lastDeliveredAt, lastError: state.lastError, deadSeq: state.deadSeq });
  }

  /** Re-queues every free message after replay (leases do not survive a restart). */
  rescheduleAll(now: number): void {
    for (const p of this.pending.values()) this.#schedule(p, now);
  }

  /** Earliest time a timer must fire for this group (a retry falling due or a lease expiring). */
  nextTimerAt(): number | undefined {
    const a = this.#dueHeap.peek()?.at;
    const b = this.#leaseHeap.peek()?.at;
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /**
   * Messages being dead-lettered, also those whose DEAD_INTENT replay found ahead of the cursor
   * (not tracked yet: a stand-in carries what sending the letter needs).
   */
  dying(): Pending[] {
    const out = [...this.pending.values()].filter((p) => p.deadSeq > 0);
    for (const [offset, r] of this.aheadRetry) {
      if (r.deadSeq > 0) out.push(new Pending(offset, undefined, r, r.due));
    }
    return out;
  }

  /** Retention deleted everything below `cut`: its messages are gone for this group (not the dying ones, which retention keeps). */
  dropBelow(cut: number, now: number): void {
    for (const [offset, p] of [...this.pending]) if (offset < cut && p.deadSeq === 0) this.settle(offset, now);
    for (const offset of [...this.aheadSettled]) if (offset < cut) this.aheadSettled.delete(offset);
    for (const [offset, r] of [...this.aheadRetry]) if (offset < cut && r.deadSeq === 0) this.aheadRetry.delete(offset);
    if (this.cursor < cut) this.cursor = cut;
  }

  /** The group as a checkpoint persists it, due times converted to wall time as of `at`. */
  snapshot(at: ClockReading): GroupSnapshot {
    const pending: PendingSnapshot[] = [];
    for (const p of this.pending.values()) pending.push([p.offset, p.failures, wallFromMono(at, p.due), p.firstDeliveredAt, p.lastDeliveredAt, p.lastError, p.deadSeq, p.key ?? null]);
    for (const [o, r] of this.aheadRetry) pending.push([o, r.failures, wallFromMono(at, r.due), r.firstDeliveredAt, r.lastDeliveredAt, r.lastError, r.deadSeq, null]);
    return { ord: this.ordering, cursor: this.cursor, pending, ahead: [...this.aheadSettled], deadSeq: this.deadSeq };
  }

  /** The group a checkpoint persisted, its wall due times converted to monotonic as of `at`. */
  /** A group from a checkpoint written at wall time `writtenAt` (due times wait no longer than they had left then). */
  static restore(name: string, s: GroupSnapshot, at: ClockReading, writtenAt: number): GroupState {
    const g = new GroupState(name, s.ord, s.cursor);
    g.deadSeq = s.deadSeq;
    for (const o of s.ahead) g.aheadSettled.add(o);
    const sorted = [...s.pending].sort((a, b) => a[0] - b[0]);
    for (const [offset, failures, due, fd, ld, e, deadSeq, key] of sorted) {
      const state: RetryState = { failures, due: monoDueFromWall(at, due, writtenAt), firstDeliveredAt: fd, lastDeliveredAt: ld, lastError: e, deadSeq };
      if (offset >= g.cursor) g.aheadRetry.set(offset, state);
      else {
        g.aheadRetry.set(offset, state);
        g.track(offset, key ?? undefined, Number.NEGATIVE_INFINITY, at.mono, false); // scheduled by rescheduleAll
      }
    }
    return g;
  }

  #compactHeaps(): void {
    const limit = 4 * this.pending.size + 1024;
    if (this.#leaseHeap.size > limit) {
      this.#openLeaseEntry = undefined;
      this.#leaseHeap.compact((e) =>
        e.offsets.some((offset, i) => {
          const lease = this.pending.get(offset)?.lease;
          // An extended lease's older entries go; an unheaped one keeps its earlier ones (one of them makes its entry).
          return lease?.token === e.leaseSeq + i && (lease.deadline === e.at || (lease.unheaped && e.at < lease.deadline));
        }),
      );
    }
    if (this.#dueHeap.size > limit) this.#dueHeap.compact((e) => this.pending.get(e.offset)?.due === e.at);
  }
}
