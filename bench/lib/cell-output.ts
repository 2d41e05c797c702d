// What a benchmark cell reports (printed by the child as one `RESULT <json>` line, read by the
// runner): its figures, the correctness check of its run, and what a confirm meant.

/** One figure of one run of a cell. */
export interface Metric {
  /** Stable name within the cell, e.g. `msg/s` or `deliver p99`: with the cell's id, the row key. */
  readonly name: string;
  readonly unit: 'msg/s' | 'ms' | 'MB/s' | 's' | 'MB' | 'ratio';
  readonly value: number;
  /** Which direction is an improvement (throughput up, latency down). */
  readonly better: 'higher' | 'lower';
  /** Keys of the physical limits bounding this figure (bench/limits/keys.ts); the runner picks the binding one. */
  readonly limits?: readonly string[];
  /** A limit measured by the cell itself, on its own data (e.g. reading the log's bytes raw). */
  readonly ownLimit?: { readonly name: string; readonly value: number };
}

/** The outcome of a cell's correctness check: a failed check voids the figures. */
export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

/** Everything one run of a cell reports. */
export interface CellOutput {
  readonly metrics: readonly Metric[];
  readonly check: Check;
  /** What a publish confirm means on the system measured (fsync per message, group commit, ...). */
  readonly confirmMeans?: string;
  /** Latency distributions for the report's charts: name -> [percentile, ms][]. */
  readonly distributions?: Readonly<Record<string, readonly [number, number][]>>;
}

/** The line prefix a cell prints its output after. */
export const RESULT_PREFIX = 'RESULT ';
