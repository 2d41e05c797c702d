// The disk's limit, measured in the same run on the same disk as Ferry: a raw loop of positioned
// writes (never O_APPEND, as the log) of `batch` records at once, each followed by fdatasync
// (or not, for fsync 'none'), on one file; and the latency of one small write + fdatasync.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import type { CellOutput, Metric } from '../lib/cell-output.ts';
import type { Profile } from '../lib/profile.ts';
import type { Scenario } from '../lib/scenario.ts';
import { quantileSorted } from '../lib/stats.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { diskKey, FDATASYNC_LATENCY } from './keys.ts';
import { ratePerSecond } from './timed-loop.ts';

/** Bytes one limit loop may write, so a fast disk under no sync does not hit writeback throttling. */
const MAX_FILE_BYTES = 1024 ** 3;
const LATENCY_SAMPLES = 300;

export interface DiskParams {
  readonly batch: number;
  readonly bytes: number;
  readonly sync: boolean;
  readonly ms: number;
}

/** Records per second of the raw loop with `p`'s batch and sync. */
async function rawLoop(p: DiskParams, dir: string): Promise<number> {
  const fd = openSync(join(dir, 'raw.bin'), 'w');
  const chunk = Buffer.alloc(p.batch * p.bytes, 0x5a);
  let position = 0;
  try {
    return await ratePerSecond(p.ms, p.batch, () => {
      if (position + chunk.length > MAX_FILE_BYTES) position = 0; // rewrite the file rather than grow past the cap
      writeSync(fd, chunk, 0, chunk.length, position);
      position += chunk.length;
      if (p.sync) fdatasyncSync(fd);
    });
  } finally {
    closeSync(fd);
    rmSync(join(dir, 'raw.bin'), { force: true });
  }
}

/** Median ms of one record-sized positioned write + fdatasync at the end of a growing file. */
function fdatasyncLatency(dir: string): number {
  const fd = openSync(join(dir, 'probe.bin'), 'w');
  const bytes = Buffer.alloc(ISSUE_11_SHAPE.payloadBytes, 0x5a);
  const ms = new Float64Array(LATENCY_SAMPLES);
  try {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const start = hrtime.bigint();
      writeSync(fd, bytes, 0, bytes.length, i * bytes.length);
      fdatasyncSync(fd);
      ms[i] = Number(hrtime.bigint() - start) / 1e6;
    }
  } finally {
    closeSync(fd);
  }
  return quantileSorted(ms.sort(), 0.5);
}

/** The loops a profile's Ferry cells are bounded by: W1's batch and window, every payload, and no sync for 'none'. */
export function diskLoops(profile: Profile): DiskParams[] {
  const { batch, window, payloadBytes } = ISSUE_11_SHAPE;
  const loops: DiskParams[] = [
    { batch, bytes: payloadBytes, sync: true, ms: profile.limitMs },
    { batch: window, bytes: payloadBytes, sync: true, ms: profile.limitMs },
    { batch, bytes: payloadBytes, sync: false, ms: profile.limitMs },
  ];
  for (const bytes of profile.payloads) if (bytes !== payloadBytes) loops.push({ batch, bytes, sync: true, ms: profile.limitMs });
  return loops;
}

async function run(loops: readonly DiskParams[], dir: string): Promise<CellOutput> {
  const metrics: Metric[] = [{ name: FDATASYNC_LATENCY, unit: 'ms', value: fdatasyncLatency(dir), better: 'lower' }];
  for (const p of loops) metrics.push({ name: diskKey(p.batch, p.bytes, p.sync), unit: 'msg/s', value: await rawLoop(p, dir), better: 'higher' });
  return { check: { ok: true, detail: `raw loops on ${dir}` }, metrics };
}

export const disk: Scenario = {
  name: 'disk',
  question: 'What do raw positioned writes + fdatasync sustain on this disk, at the batch sizes Ferry uses?',
  kind: 'limit',
  plan: (profile) => [{ id: 'limit: disk', scenario: 'disk', system: 'limit', params: { loops: diskLoops(profile) } }],
  run: (params, dir) => run(params['loops'] as DiskParams[], dir),
};
