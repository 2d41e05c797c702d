// Decides when the log syncs and confirms appends once a sync covering them has completed.
//
//   append -> write (page cache) -> waitFor(end) --policy--> beginSync() ... done
//                                                  syncs complete in any order; `syncedEnd` only
//                                                  advances over a prefix of completed syncs, in
//                                                  start order, so it never runs ahead of the disk.
//
// Invariant: a waiter resolves only after a sync that began after its write has completed, and
// every sync that began before it has completed too. After a failed sync nothing resolves again.
import { OverloadedError } from './errors.ts';
import { BoundedFifo } from './fifo.ts';
import type { FerryError } from './ferry-error.ts';
import type { FsyncPolicy } from './options.ts';
import type { Clock, TimerHandle } from './seams/clock.ts';

/** The log side of a sync: start one covering every write so far. */
export interface SyncSource {
  beginSync(): { readonly covers: number; readonly done: Promise<void> };
}

interface Waiter {
  readonly end: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface InFlight {
  readonly covers: number;
  done: boolean;
}

export interface GroupCommitOptions {
  readonly policy: FsyncPolicy;
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly maxWaiters: number;
  readonly source: SyncSource;
  /** Called with the new synced end each time it advances. */
  readonly onSynced: (syncedEnd: number) => void;
  /** Called once, with the error of the first failed sync. */
  readonly onFailure: (error: unknown) => FerryError;
}

export class GroupCommit {
  readonly #o: GroupCommitOptions;
  readonly #waiters: BoundedFifo<Waiter>;
  /** Waiters of syncs the log itself forced (roll under `none`, close, `sync()`); a handful at most. */
  #forced: Waiter[] = [];
  readonly #inFlight: BoundedFifo<InFlight>;
  #syncedEnd: number;
  #failure: FerryError | undefined;
  #armed = false;
  #timer: TimerHandle | undefined;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  #wantedEnd: number;

  constructor(options: GroupCommitOptions, syncedEnd: number) {
    this.#o = options;
    this.#waiters = new BoundedFifo(options.maxWaiters);
    // `always` starts one sync per waiting append, plus the log's own forced syncs.
    this.#inFlight = new BoundedFifo(Number.MAX_SAFE_INTEGER);
    this.#syncedEnd = syncedEnd;
    this.#wantedEnd = syncedEnd;
  }

  /** End offset (exclusive) of everything known to be on stable storage. */
  get syncedEnd(): number {
    return this.#syncedEnd;
  }

  get pending(): number {
    return this.#waiters.size;
  }

  get saturated(): boolean {
    return this.#waiters.size >= this.#waiters.capacity;
  }

  /** Resolves when everything below `end` is synced. Schedules a sync as the policy says. */
  waitFor(end: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (end <= this.#syncedEnd) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (!this.#waiters.push({ end, resolve, reject })) {
        reject(new OverloadedError(this.#waiters.capacity));
        return;
      }
      this.#wantedEnd = Math.max(this.#wantedEnd, end);
      if (this.#o.policy === 'always') this.#start();
      else this.#arm();
    });
  }

  /** Starts a sync now, whatever the policy, and resolves when everything below `end` is synced. */
  syncNow(end: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (end <= this.#syncedEnd && this.#inFlight.size === 0) return Promise.resolve();
    const waiter = new Promise<void>((resolve, reject) => {
      // Not bounded by maxWaiters: only the log itself calls this (roll, close, an explicit sync).
      this.#wantedEnd = Math.max(this.#wantedEnd, end);
      this.#forced.push({ end, resolve, reject });
    });
    this.#start();
    return waiter;
  }

  /** Rejects every waiter and all later calls with `error`. */
  fail(error: FerryError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#timer?.cancel();
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) w.reject(error);
    for (const w of this.#forced.splice(0)) w.reject(error);
  }

  /** Stops timers; waiters stay until the syncs in flight settle. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#armed || this.#failure) return;
    if (this.#inFlight.size > 0) return; // the completion of the current sync re-arms
    this.#armed = true;
    // Monotonic, and clamped all the same: the sync is never postponed beyond one interval.
    const delay = Math.min(this.#o.intervalMs, Math.max(0, this.#lastSyncAt + this.#o.intervalMs - this.#o.clock.monotonicNow()));
    const fire = (): void => {
      this.#armed = false;
      this.#timer = undefined;
      if (this.#wantedEnd > this.#syncedEnd && this.#inFlight.size === 0) this.#start();
    };
    // The next turn, not a microtask: the replies a completed sync just released run as promise
    // callbacks (a confirm resumes its producer, which sends what it held, a delivery's ack is
    // queued), and their appends must ride this sync. Started on a microtask, the sync began in
    // the middle of those callbacks and the appends behind it waited a whole sync more: about
    // three syncs from publish to confirm at 5,000 msg/s instead of two (issue 11, W3).
    if (delay === 0) this.#o.clock.defer(fire);
    else this.#timer = this.#o.clock.setTimer(delay, fire, { keepAlive: true }); // appends wait on it
  }

  #start(): void {
    if (this.#failure) return;
    let sync: { covers: number; done: Promise<void> };
    try {
      sync = this.#o.source.beginSync();
    } catch (error) {
      this.fail(this.#o.onFailure(error));
      return;
    }
    this.#lastSyncAt = this.#o.clock.monotonicNow();
    const entry: InFlight = { covers: sync.covers, done: false };
    this.#inFlight.push(entry);
    sync.done.then(
      () => this.#completed(entry),
      (error: unknown) => this.fail(this.#o.onFailure(error)),
    );
  }

  #completed(entry: InFlight): void {
    if (this.#failure) return;
    entry.done = true;
    let advanced = false;
    for (let first = this.#inFlight.peek(); first && first.done; first = this.#inFlight.peek()) {
      this.#inFlight.shift();
      if (first.covers > this.#syncedEnd) {
        this.#syncedEnd = first.covers;
        advanced = true;
      }
    }
    if (advanced) {
      for (let w = this.#waiters.peek(); w && w.end <= this.#syncedEnd; w = this.#waiters.peek()) {
        this.#waiters.shift();
        w.resolve();
      }
      this.#o.onSynced(this.#syncedEnd);
    }
    // Also when this sync moved nothing: a forced sync asked for while another was in flight may
    // already be covered, and restarting for it would spin forever (found by the simulator).
    if (this.#forced.length > 0) {
      const ready = this.#forced.filter((w) => w.end <= this.#syncedEnd);
      this.#forced = this.#forced.filter((w) => w.end > this.#syncedEnd);
      for (const w of ready) w.resolve();
    }
    if (this.#inFlight.size === 0) {
      if (this.#forced.length > 0) this.#start();
      else if (this.#o.policy !== 'always' && this.#wantedEnd > this.#syncedEnd) this.#arm();
    }
  }
}
