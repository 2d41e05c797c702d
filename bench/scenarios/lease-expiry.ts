// Do leases expire on time? With `ackTimeoutMs: 1000`, every tenth message is taken and dropped
// without settling: each must come back ACK_TIMEOUT_MS after its delivery (issue 11: within 5%),
// and the drain must finish with every message acked once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { CellOutput } from '../lib/cell-output.ts';
import { pipelined } from '../lib/pipelined.ts';
import type { Scenario } from '../lib/scenario.ts';
import { LatencyHistogram } from '../workloads/latency-histogram.ts';
import { seqOf, stamp, template } from '../workloads/payload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { DeliveryTracker } from '../workloads/tracker.ts';
import { PARTITIONS } from './ferry-cells.ts';

const ACK_TIMEOUT_MS = 1000;
const DROP_EVERY = 10;
/** The drain may take this long before the cell gives up (a lease that never expires fails it). */
const DRAIN_TIMEOUT_MS = 60_000;

interface LeaseParams {
  readonly n: number;
  readonly threads: number | 'auto';
}

async function run(p: LeaseParams, dir: string): Promise<CellOutput> {
  const { payloadBytes, batch, prefetch } = ISSUE_11_SHAPE;
  mkdirSync(join(dir, 'data'), { recursive: true });
  const { Ferry } = await loadFerry();
  const ferry = await Ferry.open({ dir: join(dir, 'data'), threads: p.threads });
  try {
    await ferry.createTopic('bench', { partitions: PARTITIONS, ackTimeoutMs: ACK_TIMEOUT_MS });
    const producer = ferry.producer();
    const base = template(payloadBytes);
    await pipelined((call) => producer.publishMany('bench', Array.from({ length: Math.min(batch, p.n - call * batch) }, (_, i) => ({ value: stamp(base, call * batch + i) }))), Math.ceil(p.n / batch), 10);
    await producer.close();
    const consumer = ferry.consumer<Uint8Array>('bench', { topics: ['bench'], maxInFlight: prefetch });
    const tracker = new DeliveryTracker(p.n);
    const droppedAt = new Float64Array(p.n);
    const back = new LatencyHistogram();
    const now = (): number => Number(hrtime.bigint()) / 1e6;
    const start = now();
    const drained = new Promise<void>((resolve) => {
      void (async () => {
        for await (const d of consumer) {
          const seq = seqOf(d.value);
          const attempt = tracker.onDelivery(seq);
          if (seq % DROP_EVERY === 0 && attempt === 1) {
            droppedAt[seq] = now(); // taken and dropped: neither acked nor nacked
            continue;
          }
          if (attempt === 2 && seq % DROP_EVERY === 0) back.record(now() - droppedAt[seq]!);
          d.ack().then(() => void (tracker.onAcked(seq) && resolve()), (e: unknown) => tracker.onAckError(e));
        }
      })();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([drained.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), DRAIN_TIMEOUT_MS)))]);
    clearTimeout(timer);
    const seconds = (now() - start) / 1000;
    await consumer.close();
    const q = back.quantiles();
    const check = timedOut ? { ok: false, detail: `drain timed out: ${tracker.ackedCount} of ${p.n} acked` } : tracker.check(undefined, Math.ceil(p.n / DROP_EVERY));
    const asked = { name: `ackTimeoutMs ${ACK_TIMEOUT_MS}`, value: ACK_TIMEOUT_MS };
    return {
      check,
      metrics: [
        { name: 'back after drop p50', unit: 'ms', value: q.p50, better: 'lower', ownLimit: asked },
        { name: 'back after drop p99', unit: 'ms', value: q.p99, better: 'lower', ownLimit: asked },
        { name: 'drain msg/s', unit: 'msg/s', value: p.n / seconds, better: 'higher' },
      ],
      distributions: { 'dropped -> delivered again': back.distribution() },
    };
  } finally {
    await ferry.close();
  }
}

export const leaseExpiry: Scenario = {
  name: 'lease-expiry',
  question: 'With ackTimeoutMs 1000 and every tenth message dropped unsettled, does each come back 1 s after its delivery?',
  kind: 'scenario',
  plan: (profile) => profile.threads.map((t) => ({ id: `lease-expiry: ackTimeoutMs ${ACK_TIMEOUT_MS}, 10% dropped, threads=${t}`, scenario: 'lease-expiry', system: 'ferry', params: { n: profile.n, threads: t } })),
  run: (params, dir) => run(params as unknown as LeaseParams, dir),
};
