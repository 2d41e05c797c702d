// The Clock seam: the only way wal/ and core/ read time or set timers. Production passes the real
// clock (real-clock.ts); tests and the simulator pass a ManualClock whose time they advance.
//
// Two readings: wall time (`now`) for what is persisted or shown (record timestamps, delivery
// times, retention by age), and monotonic time (`monotonicNow`) for every duration (leases,
// retry and delay schedules, the dedupe window, deadlines), which a step of the wall clock (an
// NTP correction, a suspended machine waking) must not stretch or cut short. Timers run on the
// monotonic clock, as Node's do.

/** A handle to cancel a timer. */
export interface TimerHandle {
  cancel(): void;
}

/** Time and timers, injected so that simulated runs control both. */
export interface Clock {
  /**
   * Wall time: milliseconds since the Unix epoch. It may step forwards or backwards at any time:
   * use it only for times that are persisted or shown, never to measure a duration.
   */
  now(): number;
  /**
   * Monotonic time in milliseconds from an arbitrary origin: never steps, only advances as time
   * passes. Measure durations and keep in-memory deadlines with it. Readings are comparable only
   * within one thread of one process: never persist them or send them to another thread.
   */
  monotonicNow(): number;
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
 *
 * Its monotonic reading starts at `monotonicStartMs` (0 by default, far from the wall reading, so
 * that code mixing the two fails in tests); advance() moves both readings, jump() only the wall
 * one. Timers and the time arguments of nextTimerAt/advanceTo are monotonic.
 */
export class ManualClock implements Clock {
  #now: number;
  #mono: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(startMs = 0, monotonicStartMs = 0) {
    this.#now = startMs;
    this.#mono = monotonicStartMs;
  }

  /**
   * Time that passes with every reading (0 by default): code that reads the clock twice in one
   * turn sees two times, as on a real machine, and must not assume they are equal.
   */
  creepMs = 0;

  now(): number {
    if (this.creepMs > 0) this.#step(this.creepMs);
    return Math.floor(this.#now); // wall time comes in whole milliseconds, as Date.now() does
  }

  monotonicNow(): number {
    if (this.creepMs > 0) this.#step(this.creepMs);
    return this.#mono;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.#mono + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
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

  /** Due time (monotonic) of the earliest live timer, or undefined when none is set. */
  nextTimerAt(): number | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers) if (!t.cancelled && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    return best?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    this.advanceTo(this.#mono + ms);
  }

  /**
   * Moves time forward by `ms` at once, then fires the timers that fell due, in order: each runs
   * late, seeing the clock past its due time (a stalled event loop, a paused VM).
   */
  advanceLate(ms: number): void {
    this.#step(Math.max(0, ms));
    this.advanceTo(this.#mono);
  }

  /**
   * Steps the wall clock by `ms`, forwards or backwards (an NTP correction, a suspended laptop
   * waking), without firing anything: the monotonic reading and the timers do not move.
   */
  jump(ms: number): void {
    this.#now += ms;
  }

  /** Moves monotonic time to `targetMs` (never backwards), firing due timers in order; wall time moves as much. */
  advanceTo(targetMs: number): void {
    for (;;) {
      const due = this.#takeNextDue(targetMs);
      if (!due) break;
      this.#step(Math.max(0, due.at - this.#mono));
      due.fn();
    }
    this.#step(Math.max(0, targetMs - this.#mono));
  }

  /** Time passes: both readings move by `ms`. */
  #step(ms: number): void {
    this.#now += ms;
    this.#mono += ms;
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
