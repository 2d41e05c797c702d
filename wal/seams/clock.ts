// The Clock seam: the only way wal/ and core/ read time or set timers. Production passes the real
// clock (real-clock.ts); tests and the simulator pass a ManualClock whose time they advance.

/** A handle to cancel a timer. */
export interface TimerHandle {
  cancel(): void;
}

/** Time and timers, injected so that simulated runs control both. */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall time in production, virtual time in simulation). */
  now(): number;
  /**
   * Calls `fn` once, `delayMs` from now. A real timer does not keep the process alive unless
   * `keepAlive` is set (for timers that pending work waits on).
   */
  setTimer(delayMs: number, fn: () => void, options?: { readonly keepAlive?: boolean }): TimerHandle;
  /**
   * Calls `fn` once the current turn of work (and the promise callbacks it queued) is done, to
   * gather work that arrives over several microtask turns: setImmediate in production.
   */
  defer(fn: () => void): void;
}

interface PendingTimer {
  at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in (due time, creation order), so a run is
 * the same every time. Used by unit tests here and by the simulator.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Deferred work runs as a microtask here: tests need not advance time for it. */
  defer(fn: () => void): void {
    queueMicrotask(fn);
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Due time of the earliest live timer, or undefined when none is set. */
  nextTimerAt(): number | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers) if (!t.cancelled && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    return best?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /**
   * Moves time forward by `ms` at once, then fires the timers that fell due, in order: each runs
   * late, seeing the clock past its due time (a stalled event loop, a paused VM).
   */
  advanceLate(ms: number): void {
    this.#now += Math.max(0, ms);
    this.advanceTo(this.#now);
  }

  /**
   * Steps the wall clock by `ms` (an NTP correction, a suspended laptop waking) without firing
   * anything: timers keep the time they had left, as real timers run on a monotonic clock.
   */
  jump(ms: number): void {
    this.#now += ms;
    for (const t of this.#timers) t.at += ms;
  }

  /** Moves time to `targetMs` (never backwards), firing due timers in order. */
  advanceTo(targetMs: number): void {
    for (;;) {
      const due = this.#takeNextDue(targetMs);
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, targetMs);
  }

  #takeNextDue(limit: number): PendingTimer | undefined {
    let index = -1;
    for (let i = 0; i < this.#timers.length; i++) {
      const t = this.#timers[i]!;
      if (t.cancelled || t.at > limit) continue;
      const best = index < 0 ? undefined : this.#timers[index]!;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) index = i;
    }
    if (index < 0) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      return undefined;
    }
    return this.#timers.splice(index, 1)[0];
  }
}
