// W2 consume + per-message ack: how fast a backlog drains through the plain consumer loop (each
// delivery acked, `prefetch` unsettled at most). The backlog is published first, untimed.
import type { CellOutput } from '../lib/cell-output.ts';
import type { Target } from '../adapters/target.ts';
import { drain } from './drain.ts';
import { publishWindowed } from './w1-publish.ts';
import type { WorkloadShape } from './shape.ts';

export async function w2Consume(target: Target, shape: WorkloadShape, rateLimits: string[]): Promise<CellOutput> {
  const total = shape.warmup + shape.n;
  await publishWindowed(target, 'many', shape, 0, total);
  const stored = await target.stored();
  const result = await drain(target, total, shape.warmup, shape.prefetch, () => 'ack');
  const check = result.timedOut ? { ok: false, detail: `drain timed out: ${result.tracker.ackedCount} of ${total} acked` } : stored !== undefined && stored !== total ? { ok: false, detail: `${stored} stored, ${total} confirmed` } : result.tracker.check(result.unsettled);
  return {
    confirmMeans: target.confirmMeans,
    check,
    metrics: [{ name: 'msg/s', unit: 'msg/s', value: shape.n / result.seconds, better: 'higher', limits: rateLimits }],
  };
}
