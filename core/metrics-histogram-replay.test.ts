// Replaying Ferry's aggregated histograms into a meter that takes one observation at a time
// (issue 12, OpenTelemetry histograms): the replayed observations fall in the same buckets, add
// up to the same sum, and a collection records only what was gained since the previous one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS_SECONDS, DurationHistogram, type HistogramSnapshot } from './metrics-histogram.ts';
import { histogramDelta, replayObservations } from './metrics-histogram-replay.ts';

/** The snapshot of recording `values` (seconds, each `times` times) afresh. */
function rebucket(observations: readonly (readonly [number, number])[]): HistogramSnapshot {
  const h = new DurationHistogram();
  for (const [seconds, times] of observations) for (let i = 0; i < times; i++) h.record(seconds * 1000);
  return h.snapshot();
}

describe('replayObservations', () => {
  it('gives observations that land in the same buckets with the same sum, whatever was measured', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.constantFrom(...DURATION_BUCKETS_SECONDS.map((b) => b * 1000))), { maxLength: 200 }), (durationsMs) => {
        const measured = new DurationHistogram();
        for (const ms of durationsMs) measured.record(ms);
        const snapshot = measured.snapshot();
        const replayed = rebucket(replayObservations(snapshot));
        expect(replayed.counts).toEqual(snapshot.counts);
        expect(replayed.count).toBe(snapshot.count);
        expect(replayed.sumSeconds).toBeCloseTo(snapshot.sumSeconds, 6);
      }),
    );
  });

  it('puts the open last bucket above the last bound, carrying what the sum has beyond the finite buckets', () => {
    const h = new DurationHistogram();
    h.record(3); // 0.003 s: the first bucket
    h.record(30_000); // 30 s: above every bound
    const replay = replayObservations(h.snapshot());
    expect(replay.map(([, times]) => times)).toEqual([1, 1]);
    expect(replay[0]![0]).toBeLessThanOrEqual(0.005);
    expect(replay[1]![0]).toBeGreaterThan(10); // the last bound
    expect(replay[0]![0] + replay[1]![0]).toBeCloseTo(30.003, 9);
  });

  it('gives nothing for an empty histogram', () => {
    expect(replayObservations(new DurationHistogram().snapshot())).toEqual([]);
  });
});

describe('histogramDelta', () => {
  const snap = (counts: number[], sumSeconds: number): HistogramSnapshot => ({ boundsSeconds: DURATION_BUCKETS_SECONDS, counts: [...counts, ...new Array<number>(DURATION_BUCKETS_SECONDS.length + 1 - counts.length).fill(0)], sumSeconds, count: counts.reduce((a, b) => a + b, 0) });

  it('is what was gained since the last collection (all of it the first time)', () => {
    expect(histogramDelta(snap([2, 1], 0.02), undefined)).toEqual(snap([2, 1], 0.02));
    const d = histogramDelta(snap([5, 1, 3], 0.3), snap([2, 1], 0.02));
    expect(d.counts.slice(0, 3)).toEqual([3, 0, 3]);
    expect(d.count).toBe(6);
    expect(d.sumSeconds).toBeCloseTo(0.28, 9);
  });

  it('never counts twice when a bucket shrank (a restarted shard counts again from 0)', () => {
    const d = histogramDelta(snap([1, 4], 0.05), snap([3, 1], 0.03));
    expect(d.counts.slice(0, 2)).toEqual([0, 3]);
    expect(d.count).toBe(3);
  });
});
