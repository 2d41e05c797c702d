// W4 redelivery: a backlog drains while every tenth message fails its first attempt (nack, no
// delay asked): the drain rate, and the time from the failure to the redelivery against the
// delay asked for (0 ms).
import { hrtime } from 'node:process';
import type { CellOutput } from '../lib/cell-output.ts';
import type { Target } from '../adapters/target.ts';
import { drain } from './drain.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { publishWindowed } from './w1-publish.ts';
import type { WorkloadShape } from './shape.ts';

/** One message in FAIL_EVERY fails its first attempt. */
export const FAIL_EVERY = 10;

export async function w4Redelivery(target: Target, shape: WorkloadShape, rateLimits: string[]): Promise<CellOutput> {
  const total = shape.warmup + shape.n;
  await publishWindowed(target, 'many', shape, 0, total);
  const failedAt = new Float64Array(total);
  const delays = new LatencyHistogram();
  const now = (): number => Number(hrtime.bigint()) / 1e6;
  const result = await drain(target, total, shape.warmup, shape.prefetch, (seq, attempt) => {
    if (seq % FAIL_EVERY !== 0) return 'ack';
    if (attempt === 1) {
      failedAt[seq] = now();
      return 'nack';
    }
    if (attempt === 2) delays.record(now() - failedAt[seq]!);
    return 'ack';
  });
  const failing = Math.ceil(total / FAIL_EVERY);
  const check = result.timedOut ? { ok: false, detail: `drain timed out: ${result.tracker.ackedCount} of ${total} acked` } : result.tracker.check(result.unsettled, failing);
  const q = delays.quantiles();
  return {
    confirmMeans: target.confirmMeans,
    check,
    metrics: [
      { name: 'msg/s', unit: 'msg/s', value: shape.n / result.seconds, better: 'higher', limits: rateLimits },
      { name: 'redelivery p50', unit: 'ms', value: q.p50, better: 'lower' },
      { name: 'redelivery p99', unit: 'ms', value: q.p99, better: 'lower' },
    ],
    distributions: { 'fail -> redelivery': delays.distribution() },
  };
}
