// The sizes of a run: `--quick` (about a minute, tiny N, for checking the machinery and a first
// look) and the full run (under 15 minutes on 2 cores). Every scenario reads its sizes from here.

export interface Profile {
  readonly name: 'quick' | 'full' | 'tiny';
  /** Repetitions of each cell (each in a fresh process); the median is reported. */
  readonly reps: number;
  readonly threads: readonly (number | 'auto')[];
  /** Timed and warm-up messages of the throughput workloads (W1, W2, W4). */
  readonly n: number;
  readonly warmup: number;
  /** W3 offered rates (msg/s) and its warm-up and measured durations. */
  readonly rates: readonly number[];
  readonly latencyWarmupMs: number;
  readonly latencyMeasureMs: number;
  /** Payload sizes of the payload scenario beyond 100 B (which every other scenario uses). */
  readonly payloads: readonly number[];
  /** Bytes of log the recovery scenario writes before reopening. */
  readonly recoveryBytes: number;
  /** Messages the memory scenario publishes and consumes (issue 11 asks for 10 million; the full run keeps under 15 minutes). */
  readonly memoryMessages: number;
  /** Keys of the key-order scenario. */
  readonly keys: number;
  /** How long a limit loop runs (ms), after its warm-up. */
  readonly limitMs: number;
  /** Every fsync policy side by side, and recovery without a checkpoint too (quick: fewer cells). */
  readonly allVariants: boolean;
}

export const PROFILES: Readonly<Record<Profile['name'], Profile>> = {
  full: { name: 'full', reps: 3, threads: [0, 1, 'auto'], n: 100_000, warmup: 20_000, rates: [1000, 5000, 50_000], latencyWarmupMs: 1000, latencyMeasureMs: 5000, payloads: [1024, 65_536], recoveryBytes: 1024 ** 3, keys: 10_000, memoryMessages: 1_000_000, limitMs: 500, allVariants: true },
  quick: { name: 'quick', reps: 3, threads: [0], n: 10_000, warmup: 2000, rates: [5000], latencyWarmupMs: 300, latencyMeasureMs: 1000, payloads: [], recoveryBytes: 16 * 1024 ** 2, keys: 1000, memoryMessages: 50_000, limitMs: 100, allVariants: false },
  // For the harness's own test: every piece runs, nothing is measured.
  tiny: { name: 'tiny', reps: 1, threads: [0], n: 200, warmup: 50, rates: [500], latencyWarmupMs: 50, latencyMeasureMs: 150, payloads: [1024], recoveryBytes: 256 * 1024, keys: 20, memoryMessages: 500, limitMs: 20, allVariants: true },
};
