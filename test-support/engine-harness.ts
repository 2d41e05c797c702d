// Test-only: runs the engine's behaviour suite on both runtimes (issue 4), one variant each:
//   threads 0: partitions in-thread, on the in-memory fault disk with a ManualClock, so time
//              passes exactly when a test says (fast, deterministic);
//   threads 2: partitions on two worker threads, on a temp dir with the real clock, so time passes
//              by waiting (short timeouts; conditions are polled, never slept on).
// Worker threads cannot share the memory disk or the manual clock, hence the two kinds of seams.
// The threaded variant needs the composition root (via real-ferry.ts): the one place where
// tests of core/ reach the package root. No vitest import here: helpers are plain modules.
import type { Ferry, FerryOptions } from '../core/ferry.ts';
import { flush, memoryFerry, pendingNext } from './memory-ferry.ts';
import { realFerry, until } from './real-ferry.ts';
import { realClock } from '../wal/index.ts';

export interface EngineVariant {
  readonly name: string;
  readonly threads: 0 | 2;
}

/** The two runtimes every behaviour test runs on: `describe.each(engineVariants)('… ($name)', …)`. */
export const engineVariants: readonly EngineVariant[] = [
  { name: 'threads 0, memory disk, manual clock', threads: 0 },
  { name: 'threads 2, temp dir, real clock', threads: 2 },
];

/** One data directory and its time, on one variant. */
export interface EngineSetup {
  /** Opens an engine on the directory (again, after a close, for a restart). */
  open(overrides?: Partial<FerryOptions>): Promise<Ferry>;
  /** The engine's time. */
  now(): number;
  /** Lets `ms` of engine time pass (advances the manual clock, or waits), then lets the engine act. */
  elapse(ms: number): Promise<void>;
  /**
   * Lets work already under way finish without time passing, before checking that something did
   * not happen: the manual clock flushes the event loop; the real one waits a short while, since
   * replies from workers come asynchronously.
   */
  settle(): Promise<void>;
  /** Waits until `check` holds: at once after a flush on the manual clock, polled on the real one. */
  eventually(check: () => boolean): Promise<void>;
  /**
   * The consumer's next delivery, which must not come before engine time `dueAt`: on the manual
   * clock nothing by `dueAt - 1` and the delivery at `dueAt`; on the real one the delivery comes,
   * and its arrival is no earlier than `dueAt`.
   */
  nextDue<T>(consumer: { next(): Promise<T | undefined> }, dueAt: number): Promise<T>;
}

export interface EngineHarness {
  /** A fresh data directory; `defaults` apply to every open of it. */
  setup(defaults?: Partial<FerryOptions>): EngineSetup;
  /** Closes every engine opened since the last cleanup and removes the directories: `afterEach(h.cleanup)`. */
  cleanup(): Promise<void>;
}

const REAL_SETTLE_MS = 100;
const REAL_DEADLINE_MS = 10_000;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

export function engineHarness(variant: EngineVariant): EngineHarness {
  const opened: Ferry[] = [];
  const removals: (() => void)[] = [];
  let seed = 0;
  const track = async (opening: Promise<Ferry>) => {
    const ferry = await opening;
    opened.push(ferry);
    return ferry;
  };
  return {
    setup: (defaults = {}) => {
      if (variant.threads === 0) {
        const memory = memoryFerry(++seed, defaults);
        return manualSetup(memory.clock, (overrides) => track(memory.open(overrides)));
      }
      const real = realFerry(variant.threads);
      removals.push(() => real.cleanup());
      return realSetup((overrides = {}) => track(real.open({ ...defaults, ...overrides })));
    },
    cleanup: async () => {
      try {
        for (const ferry of opened.splice(0)) await ferry.close({ timeoutMs: 0 }); // not a graceful-close test: hand leases back at once
      } finally {
        for (const remove of removals.splice(0)) remove();
      }
    },
  };
}

type Open = (overrides?: Partial<FerryOptions>) => Promise<Ferry>;

function manualSetup(clock: { now(): number; advance(ms: number): void }, open: Open): EngineSetup {
  const elapse = async (ms: number) => {
    clock.advance(ms);
    await flush();
  };
  return {
    open,
    now: () => clock.now(),
    elapse,
    settle: () => flush(),
    eventually: async (condition) => {
      await flush();
      check(condition(), 'condition does not hold once the engine has settled');
    },
    nextDue: async (consumer, dueAt) => {
      check(clock.now() < dueAt, `due at ${dueAt}, but the clock is already at ${clock.now()}`);
      const got = pendingNext(consumer);
      await elapse(dueAt - 1 - clock.now());
      check(got.value === undefined, `delivered before it was due (at ${clock.now()}, due at ${dueAt})`);
      await elapse(1);
      check(got.value !== undefined, `not delivered when due (at ${dueAt})`);
      return got.value!;
    },
  };
}

/**
 * Waits until the engine's monotonic clock (its leases' and retries' clock) has moved on by `ms`;
 * a single timer counts on libuv's own millisecond clock and may end a millisecond short of it.
 * Through the Clock seam, like the engine.
 */
async function wait(ms: number): Promise<void> {
  const end = realClock.monotonicNow() + ms;
  for (let left = ms; left > 0; left = end - realClock.monotonicNow()) await new Promise<void>((resolve) => realClock.setTimer(left, resolve, { keepAlive: true }));
}

function realSetup(open: Open): EngineSetup {
  return {
    open,
    now: () => realClock.now(),
    elapse: wait,
    settle: () => wait(REAL_SETTLE_MS),
    eventually: (condition) => until(condition, REAL_DEADLINE_MS),
    nextDue: async (consumer, dueAt) => {
      let arrival: { value: unknown; at: number } | undefined;
      consumer.next().then(
        (value) => (arrival = { value, at: realClock.now() }),
        (error: unknown) => (arrival = { value: error, at: Number.NaN }),
      );
      await until(() => arrival !== undefined, Math.max(0, dueAt - realClock.now()) + REAL_DEADLINE_MS);
      if (Number.isNaN(arrival!.at)) throw arrival!.value;
      check(arrival!.value !== undefined, 'the consumer closed before the delivery');
      check(arrival!.at >= dueAt, `delivered ${dueAt - arrival!.at} ms before it was due`);
      return arrival!.value as never;
    },
  };
}
