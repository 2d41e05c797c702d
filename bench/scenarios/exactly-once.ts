// What does `exactlyOnce` cost a consume -> transform -> produce pipeline (issue 13)? The same
// pipeline (read `in`, publish one output per input to `out`, ack the input; concurrency 16) runs
// at-least-once (plain run(): producer.publish, then resolve = ack) and exactlyOnce (run(h,
// { exactlyOnce: true }): tx.publish, the outputs and the ack committed as one, the commits of
// handlers ready together merged), one after the other in one cell process, each on a fresh data
// directory with a backlog published first (untimed). The exactlyOnce figure's ratio is to the
// at-least-once one of the same run (the issue's aim: >= 0.8). Then the commit latency of single
// small transactions (one publish and one ack each, one after the other), p50 and p99.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import type { CellOutput } from '../lib/cell-output.ts';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { Scenario } from '../lib/scenario.ts';
import { LatencyHistogram, type LatencyQuantiles } from '../workloads/latency-histogram.ts';
import { seqOf, stamp, template } from '../workloads/payload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { PARTITIONS, threadsLabel } from './ferry-cells.ts';

/** Handlers running at once in both pipelines (the issue's figure). */
const CONCURRENCY = 16;
const BATCH = 1000;
/** Single transactions timed for the commit latency (the issue's second figure). */
const COMMITS = 500;

interface ExactlyOnceParams {
  readonly n: number;
  readonly warmup: number;
  readonly threads: number | 'auto';
}

interface PipelineRun {
  readonly perSecond: number;
  /** Inputs whose output did not arrive exactly once (0 when correct). */
  readonly wrong: number;
}

/** Runs one pipeline over `warmup + n` inputs; the clock runs from the warm-up's last output to the last one. */
async function pipeline(params: ExactlyOnceParams, dir: string, exactlyOnce: boolean): Promise<PipelineRun> {
  const { Ferry } = await loadFerry();
  const total = params.warmup + params.n;
  mkdirSync(dir, { recursive: true });
  const ferry = await Ferry.open({ dir, threads: params.threads });
  try {
    await ferry.createTopic('in', { partitions: PARTITIONS });
    await ferry.createTopic('out', { partitions: PARTITIONS });
    const producer = ferry.producer();
    const base = template(ISSUE_11_SHAPE.payloadBytes);
    for (let i = 0; i < total; i += BATCH) await producer.publishMany('in', Array.from({ length: Math.min(BATCH, total - i) }, (_, k) => ({ value: stamp(base, i + k) })));
    const outputs = new Uint8Array(total);
    let counted = 0;
    let started = 0n;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const reader = ferry.consumer<Buffer>('count', { topics: ['out'], maxInFlight: 4096 });
    const reading = reader.run((d) => {
      const seq = seqOf(d.value);
      if (seq < total && outputs[seq]! < 255) outputs[seq]!++;
      if (++counted === params.warmup) started = hrtime.bigint();
      if (counted === total) finished();
    }, { concurrency: 64 });
    const consumer = ferry.consumer<Buffer>('pipeline', { topics: ['in'], maxInFlight: 256 });
    const running = exactlyOnce
      ? consumer.run((d, tx) => tx.publish('out', { value: d.value }), { exactlyOnce: true, concurrency: CONCURRENCY })
      : consumer.run((d) => producer.publish('out', { value: d.value }).then(() => undefined), { concurrency: CONCURRENCY });
    await all;
    const seconds = Number(hrtime.bigint() - started) / 1e9;
    await consumer.close();
    await reader.close();
    await Promise.all([running, reading]);
    let wrong = 0;
    for (let i = 0; i < total; i++) if (outputs[i] !== 1) wrong++;
    return { perSecond: params.n / seconds, wrong };
  } finally {
    await ferry.close();
  }
}

/** Single small transactions (one publish, one ack), one after the other: each commit's latency. */
async function commitLatency(params: ExactlyOnceParams, dir: string): Promise<LatencyQuantiles> {
  const { Ferry } = await loadFerry();
  const count = Math.max(20, Math.min(COMMITS, params.n));
  mkdirSync(dir, { recursive: true });
  const ferry = await Ferry.open({ dir, threads: params.threads });
  try {
    await ferry.createTopic('in', { partitions: PARTITIONS });
    await ferry.createTopic('out', { partitions: PARTITIONS });
    const base = template(ISSUE_11_SHAPE.payloadBytes);
    await ferry.producer().publishMany('in', Array.from({ length: count }, (_, i) => ({ value: stamp(base, i) })));
    const consumer = ferry.consumer<Buffer>('pipeline', { topics: ['in'], maxInFlight: 16 });
    const latency = new LatencyHistogram();
    for (let i = 0; i < count; i++) {
      const d = (await consumer.next())!;
      const started = hrtime.bigint();
      await ferry.transaction((tx) => {
        tx.publish('out', { value: d.value });
        tx.ack(d);
      });
      latency.record(Number(hrtime.bigint() - started) / 1e6);
    }
    await consumer.close();
    return latency.quantiles();
  } finally {
    await ferry.close();
  }
}

async function run(params: ExactlyOnceParams, dir: string): Promise<CellOutput> {
  const atLeastOnce = await pipeline(params, join(dir, 'at-least-once'), false);
  const exactly = await pipeline(params, join(dir, 'exactly-once'), true);
  const commit = await commitLatency(params, join(dir, 'commit-latency'));
  const ok = atLeastOnce.wrong === 0 && exactly.wrong === 0;
  const ratio = exactly.perSecond / atLeastOnce.perSecond;
  return {
    check: {
      ok,
      detail: ok
        ? `each of ${params.warmup + params.n} inputs' output stored once in both pipelines; exactlyOnce / at-least-once ${ratio.toFixed(2)}`
        : `outputs not stored exactly once: ${atLeastOnce.wrong} inputs at-least-once, ${exactly.wrong} exactlyOnce`,
    },
    metrics: [
      { name: 'at-least-once msg/s', unit: 'msg/s', value: atLeastOnce.perSecond, better: 'higher' },
      { name: 'exactlyOnce msg/s', unit: 'msg/s', value: exactly.perSecond, better: 'higher', ownLimit: { name: 'at-least-once, same run', value: atLeastOnce.perSecond } },
      { name: 'commit p50 (1 publish + 1 ack)', unit: 'ms', value: commit.p50, better: 'lower' },
      { name: 'commit p99 (1 publish + 1 ack)', unit: 'ms', value: commit.p99, better: 'lower' },
    ],
  };
}

export const exactlyOnce: Scenario = {
  name: 'exactly-once',
  question: 'What does exactlyOnce cost a consume -> transform -> produce pipeline, against the same pipeline at-least-once (concurrency 16)?',
  kind: 'scenario',
  plan: (profile) =>
    profile.threads.map((threads) => ({
      id: `exactly-once: consume-transform-produce, concurrency ${CONCURRENCY}, ${threadsLabel(threads)}`,
      scenario: 'exactly-once',
      system: 'ferry',
      params: { n: profile.n, warmup: profile.warmup, threads },
    })),
  run: (params, dir) => run(params as unknown as ExactlyOnceParams, dir),
};
