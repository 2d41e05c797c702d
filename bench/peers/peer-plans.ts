// The cells of a comparison across systems: the workloads, with the label every system's row
// carries, planned for each system. One place for `bench:peers` and `bench:nats`, so their cells
// (and `--compare` keys) are the same.
import type { TargetParams } from '../adapters/target.ts';
import type { Profile } from '../lib/profile.ts';
import type { CellParams, CellPlan } from '../lib/scenario.ts';
import type { WorkloadName, WorkloadParams } from '../workloads/run-workload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';

/** W3's offered rate in the comparison (issue 11's table). */
export const PEER_RATE = 5000;

export const PEER_WORKLOADS: readonly { workload: WorkloadName; label: string }[] = [
  { workload: 'w1-each', label: 'W1 publish(), 1000 unconfirmed' },
  { workload: 'w1-many', label: 'W1 publishMany x100, 1000 unconfirmed' },
  { workload: 'w2', label: 'W2 consume + ack each, prefetch 1000' },
  { workload: 'w3', label: `W3 publish -> deliver at ${PEER_RATE} msg/s` },
  { workload: 'w4', label: 'W4 10% fail once, nack' },
];

/** A system measured: its row name and how its target opens. */
export interface System {
  readonly name: string;
  readonly target: Omit<TargetParams, 'dir'>;
}

/** Every workload on every system, in the same shape (`peers: <workload> | <system>`). */
export function peerPlans(profile: Profile, all: readonly System[]): CellPlan[] {
  const shape = { ...ISSUE_11_SHAPE, n: profile.n, warmup: profile.warmup };
  return PEER_WORKLOADS.flatMap(({ workload, label }) =>
    all.map((s): CellPlan => {
      const params: WorkloadParams = { workload, target: s.target, shape, ...(workload === 'w3' ? { pace: { rate: PEER_RATE, warmupMs: profile.latencyWarmupMs, measureMs: profile.latencyMeasureMs } } : {}) };
      return { id: `peers: ${label} | ${s.name}`, scenario: 'peers', system: s.name, params: params as unknown as CellParams };
    }),
  );
}
