// The real Clock seam: wall time, monotonic time and Node timers. The only file of wal/ that touches them.
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from './clock.ts';

/** The production clock. Timers are unref'd unless asked to keep the process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  // performance.now() never steps with the system clock (it is CLOCK_MONOTONIC underneath).
  monotonicNow: () => performance.now(),
  setTimer(delayMs: number, fn: () => void, options?: { readonly keepAlive?: boolean }): TimerHandle {
    const timer = setTimeout(fn, delayMs);
    if (!options?.keepAlive) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  defer: (fn) => void setImmediate(fn),
};
