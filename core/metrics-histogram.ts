// A duration histogram with fixed buckets (the OpenTelemetry messaging conventions' advice for
// `messaging.*.duration`, in seconds), as Prometheus and OpenTelemetry aggregate durations: a
// count per bucket, a sum and a count, mergeable across partitions and threads. Recording is a
// short scan over 19 bounds and two adds: cheap enough for every publish and delivery.

/**
 * Bucket upper bounds in seconds: the messaging semantic conventions' explicit bucket advice, with
 * five below its first (5 ms). An embedded engine's fsyncs, confirms and deliveries take 0.1-5 ms
 * on a local disk: in one bucket, a new-user trial could not tell a 0.25 ms disk from a 4 ms one.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** A histogram as plain data (crosses threads): `counts[i]` observations at most `boundsSeconds[i]`, the last one above every bound. */
export interface HistogramSnapshot {
  readonly boundsSeconds: readonly number[];
  /** Per bucket, not cumulative; one more than the bounds (the last is +Inf). */
  readonly counts: readonly number[];
  readonly sumSeconds: number;
  readonly count: number;
}

/** Durations recorded in milliseconds, kept per bucket in seconds. */
export class DurationHistogram {
  readonly #counts = new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0);
  #sumSeconds = 0;
  #count = 0;

  /**
   * Records `count` (default 1) durations of `ms` each (negative readings, which a monotonic clock
   * never gives, count as 0): the messages of one batch delivered in one fetch share one call.
   */
  record(ms: number, count = 1): void {
    const seconds = ms > 0 ? ms / 1000 : 0;
    let i = 0;
    while (i < DURATION_BUCKETS_SECONDS.length && seconds > DURATION_BUCKETS_SECONDS[i]!) i++;
    this.#counts[i]! += count;
    this.#sumSeconds += seconds * count;
    this.#count += count;
  }

  snapshot(): HistogramSnapshot {
    return { boundsSeconds: DURATION_BUCKETS_SECONDS, counts: [...this.#counts], sumSeconds: this.#sumSeconds, count: this.#count };
  }
}

/** An empty histogram snapshot with the standard buckets. */
export function emptyHistogram(): HistogramSnapshot {
  return { boundsSeconds: DURATION_BUCKETS_SECONDS, counts: new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0), sumSeconds: 0, count: 0 };
}

/** The sum of two snapshots with the same bounds (partitions, shards). */
export function mergeHistograms(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  return { boundsSeconds: a.boundsSeconds, counts: a.counts.map((n, i) => n + (b.counts[i] ?? 0)), sumSeconds: a.sumSeconds + b.sumSeconds, count: a.count + b.count };
}
