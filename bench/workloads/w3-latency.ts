// W3 publish -> deliver latency at a fixed offered rate: p50/p99/p99.9/max from a histogram, with
// coordinated omission corrected (each message's latency runs from the time it was *due* on the
// pacer's schedule, so a stalled publisher or event loop shows up instead of hiding).
import { hrtime } from 'node:process';
import type { CellOutput } from '../lib/cell-output.ts';
import type { Target } from '../adapters/target.ts';
import { QUIET_MS, unsettledAfterDrain } from './drain.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { dueOf, seqOf, stamp, template } from './payload.ts';
import { paced } from './pacer.ts';
import { DeliveryTracker } from './tracker.ts';
import type { WorkloadShape } from './shape.ts';

/** How long after the last publish every message must have been delivered. */
const DELIVER_TIMEOUT_MS = 10_000;

export interface RateShape {
  readonly rate: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

export async function w3Latency(target: Target, shape: WorkloadShape, pace: RateShape, latencyLimits: string[]): Promise<CellOutput> {
  const total = Math.round((pace.rate * (pace.warmupMs + pace.measureMs)) / 1000);
  const warmupCount = Math.round((pace.rate * pace.warmupMs) / 1000);
  const tracker = new DeliveryTracker(total);
  const deliver = new LatencyHistogram();
  const confirm = new LatencyHistogram();
  // How late the pacer itself calls publish (a turn of the event loop, see pacer.ts): part of
  // every system's latency here (coordinated omission corrected), so each figure is shown beside it.
  const pacer = new LatencyHistogram();
  let allDone!: () => void;
  const delivered = new Promise<void>((resolve) => (allDone = resolve));
  const subscription = await target.consume(shape.prefetch, (d) => {
    const at = hrtime.bigint();
    const seq = seqOf(d.value);
    const attempt = tracker.onDelivery(seq);
    if (attempt === 1 && seq >= warmupCount) deliver.record(Number(at - dueOf(d.value)) / 1e6);
    d.ack().then((answer) => void (tracker.onAckAnswer(seq, answer) && allDone()), (e: unknown) => tracker.onAckError(e));
  });
  const base = template(shape.payloadBytes);
  const pending: Promise<void>[] = [];
  let publishErrors = 0;
  const start = hrtime.bigint();
  await paced(start, total, pace.rate, (seq, dueNs) => {
    if (seq >= warmupCount) pacer.record(Number(hrtime.bigint() - dueNs) / 1e6);
    pending.push(target.publish(stamp(base, seq, dueNs)).then(
      () => void (seq >= warmupCount && confirm.record(Number(hrtime.bigint() - dueNs) / 1e6)),
      () => void publishErrors++,
    ));
  });
  const windowSeconds = Number(hrtime.bigint() - start) / 1e9;
  await Promise.all(pending);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([delivered.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), DELIVER_TIMEOUT_MS)))]);
  clearTimeout(timer);
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS)); // stray redeliveries would show here
  await subscription.stop();
  const check = publishErrors > 0 ? { ok: false, detail: `${publishErrors} publishes failed` } : timedOut ? { ok: false, detail: `${tracker.ackedCount} of ${total} acked ${DELIVER_TIMEOUT_MS} ms after the last publish` } : tracker.check(await unsettledAfterDrain(target));
  const d = deliver.quantiles();
  const c = confirm.quantiles();
  const lag = pacer.quantiles();
  return {
    confirmMeans: target.confirmMeans,
    check,
    metrics: [
      { name: 'deliver p50', unit: 'ms', value: d.p50, better: 'lower', limits: latencyLimits },
      { name: 'deliver p99', unit: 'ms', value: d.p99, better: 'lower', limits: latencyLimits },
      { name: 'deliver p99.9', unit: 'ms', value: d.p999, better: 'lower' },
      { name: 'deliver max', unit: 'ms', value: d.max, better: 'lower' },
      { name: 'confirm p99', unit: 'ms', value: c.p99, better: 'lower' },
      { name: 'pacer lag p50', unit: 'ms', value: lag.p50, better: 'lower' },
      { name: 'pacer lag p99', unit: 'ms', value: lag.p99, better: 'lower' },
      { name: 'offered msg/s achieved', unit: 'msg/s', value: total / windowSeconds, better: 'higher' },
    ],
    distributions: { 'publish -> deliver': deliver.distribution(), 'publish -> confirm': confirm.distribution(), 'due -> publish call (pacer)': pacer.distribution() },
  };
}
