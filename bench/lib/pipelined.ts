// What every benchmark shares: the Benchmark shape run.ts drives, and fixed-N wall-clock timing.
//
// Why fixed-N (process.hrtime.bigint around N operations) rather than tinybench: the operations
// measured here are I/O plus asynchronous confirmation, so what matters is sustained throughput of
// a known amount of work (N appends, N x bytes on disk), not per-iteration statistics; tinybench's
// per-iteration bookkeeping would also weigh on sub-microsecond appends under `none`.
import { hrtime } from 'node:process';

/** One benchmark: answers one question, prints a report, writes bench/results/<name>.json. */
export interface Benchmark {
  /** Name used to select it: `npm run bench -- <name>`. */
  readonly name: string;
  /** The question it answers, printed as its heading. */
  readonly question: string;
  /** Runs it. `flags` are the `--key=value` arguments after the names (benchmark-specific). */
  run(flags: ReadonlyMap<string, string>): Promise<void>;
}

/** Performs `n` operations and resolves once the last one is complete (confirmed). */
export type Workload = (n: number) => void | Promise<void>;

/** A measured run: `n` operations in `ns` nanoseconds of wall-clock time. */
export interface Timing {
  readonly n: number;
  readonly ns: number;
}

/** How long to warm up and how long the measured run should last. */
export interface TimingOptions {
  /** The warmup stops once a single call of the workload takes this long. */
  readonly warmupMs: number;
  /** The measured run's N is chosen so that it takes about this long. */
  readonly targetMs: number;
  /** Upper bound on N, e.g. to cap bytes written; the warmup does at most a quarter of it in all. */
  readonly maxN: number;
}

async function elapsedNs(work: Workload, n: number): Promise<number> {
  const start = hrtime.bigint();
  await work(n);
  return Number(hrtime.bigint() - start);
}

/**
 * Warms `work` up with calls of doubling size until one lasts `warmupMs` (JIT, page cache, file
 * extents settle meanwhile), derives N from the rate of the longest warmup call so the measured
 * run takes about `targetMs`, then times exactly N operations.
 */
export async function timeFixedN(work: Workload, options: TimingOptions): Promise<Timing> {
  // Bounded so the warmup cannot dominate what is on disk (or dirty in the page cache) when the
  // measured run starts: pages it dirtied would push that run into writeback throttling.
  const warmupBudget = Math.max(1, Math.floor(options.maxN / 4));
  let probe: Timing = { n: 1, ns: await elapsedNs(work, 1) };
  let longest = probe;
  for (let done = 1; probe.ns < options.warmupMs * 1e6 && done < warmupBudget; done += probe.n) {
    const n = Math.min(probe.n * 2, warmupBudget - done);
    probe = { n, ns: await elapsedNs(work, n) };
    if (probe.ns >= longest.ns) longest = probe; // a call cut short by the budget is a poor estimate
  }
  const N = Math.max(1, Math.min(options.maxN, Math.round((longest.n / longest.ns) * options.targetMs * 1e6)));
  return { n: N, ns: await elapsedNs(work, N) };
}

/** Median and 99th percentile of a sample (sorted in place). */
export function percentiles(sample: number[]): { median: number; p99: number } {
  sample.sort((a, b) => a - b);
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.floor(q * sample.length))] ?? Number.NaN;
  return { median: at(0.5), p99: at(0.99) };
}

/** Runs `n` operations with at most `depth` unconfirmed at a time; rejects on the first failure. */
export function pipelined(op: (i: number) => Promise<unknown>, n: number, depth: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (n <= 0) return resolve();
    let issued = 0;
    let confirmed = 0;
    let failed = false;
    const fill = (): void => {
      while (!failed && issued < n && issued - confirmed < depth) op(issued++).then(onConfirmed, onFailed);
    };
    const onConfirmed = (): void => {
      if (++confirmed === n) resolve();
      else fill();
    };
    const onFailed = (error: unknown): void => {
      failed = true;
      reject(error);
    };
    fill();
  });
}
