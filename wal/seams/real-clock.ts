// The real Clock seam: wall time and Node timers. The only file of wal/ that touches either.
import type { Clock, TimerHandle } from './clock.ts';

/** The production clock. Timers are unref'd so a pending sync timer never keeps a process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer = setTimeout(fn, delayMs);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
