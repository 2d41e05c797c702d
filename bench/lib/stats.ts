// Statistics over a cell's repetitions (runs on the runner's main thread): median, spread and
// the noise band that `--compare` uses to tell a change from the run-to-run scatter.

/** A figure over repetitions: the median is the reported value; min/max show the spread. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median: the measured run-to-run scatter, 0 with one repetition. */
  readonly spread: number;
  readonly values: readonly number[];
}

/** Median (the mean of the two middle values for an even count), NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summarises the finite values of `values` (a failed repetition is left out, not counted as 0). */
export function summarise(values: readonly number[]): Summary {
  const ok = values.filter(Number.isFinite);
  if (ok.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, spread: Number.NaN, values: [] };
  const m = median(ok);
  const min = Math.min(...ok);
  const max = Math.max(...ok);
  return { median: m, min, max, spread: m === 0 ? 0 : (max - min) / Math.abs(m), values: ok };
}

/** Quantile q (0..1) of an ascending-sorted array, by nearest rank. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
