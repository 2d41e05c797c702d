// Runs one of W1-W4 on one target in a cell's process: the one entry the Ferry scenarios and the
// peers' comparison share, so both run exactly the same workload code.
import { join } from 'node:path';
import type { CellOutput } from '../lib/cell-output.ts';
import { openTarget } from '../adapters/open-target.ts';
import type { TargetParams } from '../adapters/target.ts';
import { decodeKey, FDATASYNC_LATENCY, transferKey } from '../limits/keys.ts';
import type { WorkloadShape } from './shape.ts';
import { publishLimits, w1Publish } from './w1-publish.ts';
import { w2Consume } from './w2-consume.ts';
import { w3Latency, type RateShape } from './w3-latency.ts';
import { w4Redelivery } from './w4-redelivery.ts';

export type WorkloadName = 'w1-each' | 'w1-many' | 'w2' | 'w3' | 'w4';

/** A workload cell's parameters (JSON, passed to the child). */
export interface WorkloadParams {
  readonly workload: WorkloadName;
  readonly target: Omit<TargetParams, 'dir'>;
  readonly shape: WorkloadShape;
  readonly pace?: RateShape;
}

/** Runs the workload on a freshly opened target under `dir`, and closes it. Limits are named for Ferry only. */
export async function runWorkload(p: WorkloadParams, dir: string): Promise<CellOutput> {
  const target = await openTarget({ ...p.target, dir: join(dir, 'data') });
  const ferry = p.target.target === 'ferry';
  const fsync = p.target.fsync ?? 'interval';
  const threaded = p.target.threads !== undefined && p.target.threads !== 0;
  const consumeLimits = ferry ? [decodeKey(p.shape.payloadBytes), ...(threaded ? [transferKey(p.shape.payloadBytes)] : [])] : [];
  const latencyLimits = ferry && fsync !== 'none' ? [FDATASYNC_LATENCY] : [];
  try {
    switch (p.workload) {
      case 'w1-each':
      case 'w1-many': {
        const mode = p.workload === 'w1-each' ? 'each' : 'many';
        return await w1Publish(target, mode, p.shape, { rate: ferry ? publishLimits(mode, p.shape, fsync, threaded) : [], latency: latencyLimits });
      }
      case 'w2':
        return await w2Consume(target, p.shape, consumeLimits);
      case 'w3':
        if (!p.pace) throw new Error('w3 needs pace (rate, warmupMs, measureMs)');
        return await w3Latency(target, p.shape, p.pace, latencyLimits);
      case 'w4':
        return await w4Redelivery(target, p.shape, consumeLimits);
    }
  } finally {
    await target.close();
  }
}
