// Plans the Ferry cells of the scenarios built on the shared workloads W1-W4 (publish, consume,
// latency, redelivery, fsync policies, payloads): one helper so each scenario file stays a question.
import type { CellOutput } from '../lib/cell-output.ts';
import type { Profile } from '../lib/profile.ts';
import type { CellParams, CellPlan } from '../lib/scenario.ts';
import { runWorkload, type WorkloadName, type WorkloadParams } from '../workloads/run-workload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';

export interface FerryCellOptions {
  readonly threads?: number | 'auto';
  readonly fsync?: 'always' | 'interval' | 'none';
  readonly payloadBytes?: number;
  /** W3's offered rate (msg/s). */
  readonly rate?: number;
  /** Cap on payload bytes a cell publishes (large payloads get fewer messages). */
  readonly maxBytes?: number;
  /** Partitions of the topic; default PARTITIONS. */
  readonly partitions?: number;
}

/** Partitions of the benchmark topic (as issue 11's table). */
export const PARTITIONS = 4;

/** A Ferry cell of `scenario` running `workload`, with the profile's sizes. */
export function ferryCell(scenario: string, label: string, workload: WorkloadName, profile: Profile, o: FerryCellOptions = {}): CellPlan {
  const payloadBytes = o.payloadBytes ?? ISSUE_11_SHAPE.payloadBytes;
  const scale = o.maxBytes ? Math.min(1, o.maxBytes / ((profile.n + profile.warmup) * payloadBytes)) : 1;
  const params: WorkloadParams = {
    workload,
    target: { target: 'ferry', threads: o.threads ?? 0, fsync: o.fsync ?? 'interval', partitions: o.partitions ?? PARTITIONS },
    shape: { ...ISSUE_11_SHAPE, payloadBytes, n: Math.max(100, Math.round(profile.n * scale)), warmup: Math.max(10, Math.round(profile.warmup * scale)) },
    ...(o.rate ? { pace: { rate: o.rate, warmupMs: profile.latencyWarmupMs, measureMs: profile.latencyMeasureMs } } : {}),
  };
  return { id: `${scenario}: ${label}`, scenario, system: 'ferry', params: params as unknown as CellParams };
}

/** A scenario's `run`: the workload named in the cell's parameters. */
export function runFerryCell(params: CellParams, dir: string): Promise<CellOutput> {
  return runWorkload(params as unknown as WorkloadParams, dir);
}

/** `threads=0`, `threads=1`, `threads=auto`. */
export function threadsLabel(threads: number | 'auto'): string {
  return `threads=${threads}`;
}
