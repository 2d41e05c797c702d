// W1 durable publish: how many messages per second are confirmed durable, with at most `window`
// unconfirmed, as single publish() calls ('each') or publishMany batches of `batch` ('many'), and
// how long a confirm takes under that window.
import { hrtime } from 'node:process';
import type { CellOutput } from '../lib/cell-output.ts';
import { pipelined } from '../lib/pipelined.ts';
import type { Target } from '../adapters/target.ts';
import { diskKey, encodeKey, transferKey } from '../limits/keys.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { stamp, template } from './payload.ts';
import type { WorkloadShape } from './shape.ts';

export type PublishMode = 'each' | 'many';

/** Publishes `count` messages from `first` on, `window` unconfirmed at most; records each call's confirm latency. */
export function publishWindowed(target: Target, mode: PublishMode, shape: WorkloadShape, first: number, count: number, histogram?: LatencyHistogram): Promise<void> {
  const base = template(shape.payloadBytes);
  const perCall = mode === 'each' ? 1 : shape.batch;
  const calls = Math.ceil(count / perCall);
  const depth = Math.max(1, Math.floor(shape.window / perCall));
  return pipelined(
    (call) => {
      const from = first + call * perCall;
      const size = Math.min(perCall, first + count - from);
      const t0 = hrtime.bigint();
      const done = mode === 'each' ? target.publish(stamp(base, from)) : target.publishMany(Array.from({ length: size }, (_, i) => stamp(base, from + i)));
      return histogram ? done.then(() => histogram.record(Number(hrtime.bigint() - t0) / 1e6)) : done;
    },
    calls,
    depth,
  );
}

/** What bounds a durable publish: the disk at the batch size a window allows, encoding, and the thread hop. */
export function publishLimits(mode: PublishMode, shape: WorkloadShape, fsync: string, threads: boolean): string[] {
  const batch = mode === 'each' ? shape.window : shape.batch;
  return [diskKey(batch, shape.payloadBytes, fsync !== 'none'), encodeKey(shape.payloadBytes), ...(threads ? [transferKey(shape.payloadBytes)] : [])];
}

/** Runs W1 on a fresh target: warm-up (untimed), then `n` timed messages. */
export async function w1Publish(target: Target, mode: PublishMode, shape: WorkloadShape, limits: { rate: string[]; latency: string[] }): Promise<CellOutput> {
  await publishWindowed(target, mode, shape, 0, shape.warmup);
  const confirms = new LatencyHistogram();
  const start = hrtime.bigint();
  await publishWindowed(target, mode, shape, shape.warmup, shape.n, confirms);
  const seconds = Number(hrtime.bigint() - start) / 1e9;
  const stored = await target.stored();
  const total = shape.warmup + shape.n;
  const check = stored === undefined || stored === total ? { ok: true, detail: stored === undefined ? `${total} confirmed (stored count not available: checked by the consuming workloads)` : `${stored} stored = ${total} confirmed` } : { ok: false, detail: `${stored} stored, ${total} confirmed` };
  const q = confirms.quantiles();
  return {
    confirmMeans: target.confirmMeans,
    check,
    metrics: [
      { name: 'msg/s', unit: 'msg/s', value: shape.n / seconds, better: 'higher', limits: limits.rate },
      { name: 'MB/s', unit: 'MB/s', value: (shape.n * shape.payloadBytes) / 1e6 / seconds, better: 'higher' },
      { name: 'confirm p50', unit: 'ms', value: q.p50, better: 'lower', limits: limits.latency },
      { name: 'confirm p99', unit: 'ms', value: q.p99, better: 'lower', limits: limits.latency },
    ],
    distributions: { confirm: confirms.distribution() },
  };
}
