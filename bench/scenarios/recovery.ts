// How long does reopening a large log take, with a recent checkpoint and without one, against
// reading the same bytes raw from the same (warm) page cache?
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { CellOutput } from '../lib/cell-output.ts';
import type { Scenario } from '../lib/scenario.ts';
import { pipelined } from '../lib/pipelined.ts';
import { stamp, template } from '../workloads/payload.ts';
import { PARTITIONS } from './ferry-cells.ts';

const PAYLOAD_BYTES = 1024;
const BATCH = 100;
/** Log records (batches) between the writer's checkpoints in the cell with a recent checkpoint. */
const CHECKPOINT_EVERY = 16;

interface RecoveryParams {
  readonly bytes: number;
  readonly checkpoint: boolean;
}

/** Seconds to read every file under `dir` (recursively), and the bytes read. */
function readAll(dir: string): { seconds: number; bytes: number } {
  const start = hrtime.bigint();
  let bytes = 0;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else bytes += readFileSync(path).length;
    }
  };
  walk(dir);
  return { seconds: Number(hrtime.bigint() - start) / 1e9, bytes };
}

async function run(params: RecoveryParams, dir: string): Promise<CellOutput> {
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  // Without a checkpoint: none is due before the whole log is written (the limit's upper bound).
  // With one: the writer checkpoints every CHECKPOINT_EVERY log records, so the latest lies within
  // the last few MiB of each partition. (At the default, 10,000 log records, a 1 GiB backlog of
  // publishMany batches is about 1,300 records per partition: no checkpoint at all.) The engine
  // reopens with the default limits, as a user's would.
  const limits = params.checkpoint ? { checkpointEveryRecords: CHECKPOINT_EVERY } : { checkpointEveryRecords: 1e9 };
  const messages = Math.ceil(params.bytes / PAYLOAD_BYTES);
  const { Ferry } = await loadFerry();
  const writer = await Ferry.open({ dir: data, limits });
  await writer.createTopic('bench', { partitions: PARTITIONS });
  const producer = writer.producer();
  const base = template(PAYLOAD_BYTES);
  await pipelined((call) => producer.publishMany('bench', Array.from({ length: Math.min(BATCH, messages - call * BATCH) }, (_, i) => ({ value: stamp(base, call * BATCH + i) }))), Math.ceil(messages / BATCH), 8);
  await producer.close();
  await writer.close();
  const start = hrtime.bigint();
  const reopened = await Ferry.open({ dir: data, ...(params.checkpoint ? {} : { limits }) });
  const seconds = Number(hrtime.bigint() - start) / 1e9;
  const topics = reopened.topics().map((t) => t.name);
  await reopened.close();
  const raw = readAll(data);
  const ok = topics.includes('bench');
  return {
    check: { ok, detail: ok ? `reopened ${(raw.bytes / 1024 ** 2).toFixed(0)} MiB of data (${messages} messages${params.checkpoint ? `, a checkpoint every ${CHECKPOINT_EVERY} log records` : ''})` : `topic missing after reopening: ${topics.join(', ')}` },
    metrics: [{ name: 'open', unit: 's', value: seconds, better: 'lower', ownLimit: { name: 'read the bytes', value: raw.seconds } }],
  };
}

export const recovery: Scenario = {
  name: 'recovery',
  question: 'How long does reopening a large log take, with and without a recent checkpoint, against reading its bytes?',
  kind: 'scenario',
  plan: (profile) =>
    (profile.allVariants ? [true, false] : [true]).map((checkpoint) => ({
      id: `recovery: ${(profile.recoveryBytes / 1024 ** 2).toFixed(profile.recoveryBytes < 1024 ** 2 ? 2 : 0)} MiB, ${checkpoint ? 'recent checkpoint' : 'no checkpoint'}`,
      scenario: 'recovery',
      system: 'ferry',
      params: { bytes: profile.recoveryBytes, checkpoint },
    })),
  run: (params, dir) => run(params as unknown as RecoveryParams, dir),
};
