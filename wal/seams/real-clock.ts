// The real Clock seam: wall time and Node timers. The only file of wal/ that touches either.
import type { Clock, TimerHandle } from './clock.ts';

/** The production clock. Timers are unref'd unless asked to keep the process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs: number, fn: () => void, options?: { readonly keepAlive?: boolean }): TimerHandle {
    const timer = setTimeout(fn, delayMs);
    if (!options?.keepAlive) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  defer: (fn) => void setImmediate(fn),
};
