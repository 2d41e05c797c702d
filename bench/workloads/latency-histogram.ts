// A latency histogram (HdrHistogram, microsecond resolution, 3 significant digits) and the
// quantiles the reports print. Coordinated omission is corrected by the workloads themselves:
// a paced message's latency runs from the time it was due, not from when the pacer got to it.
import * as hdr from 'hdr-histogram-js';

/** The quantiles of a latency distribution, in milliseconds. */
export interface LatencyQuantiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Percentiles exported for the report's distribution chart. */
export const CHART_PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] as const;

/** A histogram of latencies recorded in ms (kept in µs, clamped to 1 µs .. 10 min). */
export class LatencyHistogram {
  readonly #h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    this.#h.recordValue(Math.min(600_000_000, Math.max(1, Math.round(ms * 1000))));
  }

  get count(): number {
    return this.#h.totalCount;
  }

  quantiles(): LatencyQuantiles {
    const at = (p: number): number => (this.count === 0 ? Number.NaN : this.#h.getValueAtPercentile(p) / 1000);
    return { count: this.count, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: this.count === 0 ? Number.NaN : this.#h.maxValue / 1000 };
  }

  /** [percentile, ms] pairs for the distribution chart. */
  distribution(): [number, number][] {
    return this.count === 0 ? [] : CHART_PERCENTILES.map((p) => [p, this.#h.getValueAtPercentile(p) / 1000]);
  }
}
