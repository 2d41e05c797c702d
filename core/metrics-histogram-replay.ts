// Ferry aggregates its duration histograms where they are measured (bucket counts, a sum), but an
// OpenTelemetry meter takes histograms only one observation at a time (`Histogram.record`: the API
// has no observable histogram). This turns what a histogram gained since the last collection into
// observations that land in the same buckets and add up to the same sum, for the meter bridge to
// record. Pure; runs on the caller's thread at collection time.
import type { HistogramSnapshot } from './metrics-histogram.ts';

/**
 * What `now` gained since `before` (the same histogram at the last collection). The engine's
 * histograms merge its partitions': one that went back (a restarted shard's partitions count
 * again from 0) loses what that shard had counted, so a bucket that shrank gained nothing here
 * (the others' growth is kept; never a count twice).
 */
export function histogramDelta(now: HistogramSnapshot, before: HistogramSnapshot | undefined): HistogramSnapshot {
  if (!before || before.boundsSeconds.length !== now.boundsSeconds.length) return now;
  const counts = now.counts.map((n, i) => Math.max(0, n - (before.counts[i] ?? 0)));
  return { boundsSeconds: now.boundsSeconds, counts, sumSeconds: Math.max(0, now.sumSeconds - before.sumSeconds), count: counts.reduce((a, b) => a + b, 0) };
}

/** Keeps a value strictly above a bucket's lower bound (buckets are (lower, upper]). */
const ABOVE = 1e-9;

/**
 * Observations `[valueSeconds, times]` that fill `h`'s buckets with its counts and, as far as the
 * buckets allow, add up to its sum: every finite bucket's values sit at the same fraction of the
 * way through it, and the open last bucket takes what remains of the sum.
 */
export function replayObservations(h: HistogramSnapshot): [number, number][] {
  const bounds = h.boundsSeconds;
  const k = bounds.length;
  const lower = (i: number): number => (i === 0 ? 0 : bounds[i - 1]!);
  let base = 0;
  let width = 0;
  for (let i = 0; i < k; i++) {
    const n = h.counts[i] ?? 0;
    base += n * lower(i);
    width += n * (bounds[i]! - lower(i));
  }
  const open = h.counts[k] ?? 0;
  const openLower = k === 0 ? 0 : bounds[k - 1]!;
  // The open bucket's values are at least its lower bound: the finite ones share what is left.
  const t = width > 0 ? Math.min(1, Math.max(ABOVE, (h.sumSeconds - base - open * openLower) / width)) : 0;
  const out: [number, number][] = [];
  let finiteSum = 0;
  for (let i = 0; i < k; i++) {
    const n = h.counts[i] ?? 0;
    if (n === 0) continue;
    const value = i === 0 ? t * bounds[0]! : lower(i) + Math.max(t, ABOVE) * (bounds[i]! - lower(i));
    finiteSum += n * value;
    out.push([value, n]);
  }
  if (open > 0) out.push([Math.max((h.sumSeconds - finiteSum) / open, openLower * (1 + ABOVE) + ABOVE), open]);
  return out;
}
