// What do the metrics cost (issue 12 asks at most 3% of publish and of consume+ack throughput)?
// One cell per workload and thread count runs it with metrics on (the default) and with
// `Ferry.open({ metrics: false })` side by side in the same process, alternating which goes first
// round by round (on-off, off-on, ...), each round on a fresh data directory; it reports both rates
// (medians over the rounds) and the median of the rounds' on/off ratios (1.00: free; 0.97: 3%).
import { join } from 'node:path';
import type { CellOutput, Metric } from '../lib/cell-output.ts';
import type { CellParams, Scenario } from '../lib/scenario.ts';
import { median } from '../lib/stats.ts';
import { runWorkload, type WorkloadParams } from '../workloads/run-workload.ts';
import { ferryCell, threadsLabel } from './ferry-cells.ts';

/** Rounds of each cell: every round runs the workload once with metrics on and once off. */
const ROUNDS = 4;

const WORKLOADS = [
  { workload: 'w1-many', label: 'publishMany x100' },
  { workload: 'w2', label: 'consume + ack each' },
] as const;

async function runSideBySide(params: CellParams, dir: string): Promise<CellOutput> {
  const base = params as unknown as WorkloadParams;
  const rates = { on: [] as number[], off: [] as number[] };
  const ratios: number[] = [];
  const failed: string[] = [];
  let confirmMeans: string | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const rate = { on: 0, off: 0 };
    for (const metrics of order) {
      const out = await runWorkload({ ...base, target: { ...base.target, metrics: metrics === 'on' } }, join(dir, `round${round}-${metrics}`));
      confirmMeans ??= out.confirmMeans;
      if (!out.check.ok) failed.push(`round ${round} metrics ${metrics}: ${out.check.detail}`);
      rate[metrics] = out.metrics.find((m) => m.name === 'msg/s')?.value ?? Number.NaN;
      rates[metrics].push(rate[metrics]);
    }
    ratios.push(rate.on / rate.off);
  }
  const metrics: Metric[] = [
    { name: 'msg/s, metrics on', unit: 'msg/s', value: median(rates.on), better: 'higher' },
    { name: 'msg/s, metrics off', unit: 'msg/s', value: median(rates.off), better: 'higher' },
    // The aim: at least 0.97 (metrics cost at most 3%).
    { name: 'on/off', unit: 'ratio', value: median(ratios), better: 'higher' },
  ];
  const check = failed.length > 0 ? { ok: false, detail: failed.join('; ') } : { ok: true, detail: `${ROUNDS} rounds, each with metrics on and off, every message delivered and checked (rounds' on/off: ${ratios.map((r) => r.toFixed(3)).join(' ')})` };
  return { metrics, check, ...(confirmMeans === undefined ? {} : { confirmMeans }) };
}

export const metricsCost: Scenario = {
  name: 'metrics-cost',
  question: 'What do the metrics cost: publish and consume+ack throughput with metrics on and off, side by side (issue 12: at most 3%)?',
  kind: 'scenario',
  plan: (profile) => profile.threads.flatMap((t) => WORKLOADS.map(({ workload, label }) => ferryCell('metrics-cost', `${label}, ${threadsLabel(t)}`, workload, profile, { threads: t }))),
  run: runSideBySide,
};
