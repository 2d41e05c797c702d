// Does memory stay flat with the backlog? Publishes a large backlog, then consumes and acks it,
// sampling the process's RSS: the peak, and the growth from the end of the warm-up to the end
// (issue 11: under 300 MB and flat for 10 million messages; the full profile uses fewer, stated).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { CellOutput } from '../lib/cell-output.ts';
import { pipelined } from '../lib/pipelined.ts';
import type { Scenario } from '../lib/scenario.ts';
import { stamp, template } from '../workloads/payload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { PARTITIONS } from './ferry-cells.ts';

const SAMPLE_MS = 100;
const MB = 1024 ** 2;

interface MemoryParams {
  readonly n: number;
  readonly threads: number | 'auto';
}

async function run(p: MemoryParams, dir: string): Promise<CellOutput> {
  const { payloadBytes, batch, prefetch } = ISSUE_11_SHAPE;
  mkdirSync(join(dir, 'data'), { recursive: true });
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(process.memoryUsage.rss()), SAMPLE_MS);
  const { Ferry } = await loadFerry();
  const ferry = await Ferry.open({ dir: join(dir, 'data'), threads: p.threads });
  try {
    await ferry.createTopic('bench', { partitions: PARTITIONS });
    const producer = ferry.producer();
    const base = template(payloadBytes);
    await pipelined((call) => producer.publishMany('bench', Array.from({ length: Math.min(batch, p.n - call * batch) }, (_, i) => ({ value: stamp(base, call * batch + i) }))), Math.ceil(p.n / batch), 10);
    await producer.close();
    const afterPublish = samples.length;
    const consumer = ferry.consumer<Uint8Array>('bench', { topics: ['bench'], maxInFlight: prefetch });
    let acked = 0;
    let failed = 0;
    await new Promise<void>((resolve) => {
      void (async () => {
        for await (const d of consumer) d.ack().then(() => void (++acked === p.n && resolve()), () => void failed++);
      })();
    });
    await consumer.close();
    samples.push(process.memoryUsage.rss());
    const warm = samples[Math.min(samples.length - 1, Math.max(1, Math.floor(afterPublish / 10)))]!;
    const peak = Math.max(...samples);
    return {
      check: failed === 0 ? { ok: true, detail: `${p.n} published and acked, ${samples.length} RSS samples` } : { ok: false, detail: `${failed} acks failed` },
      metrics: [
        { name: 'RSS peak', unit: 'MB', value: peak / MB, better: 'lower' },
        { name: 'RSS growth', unit: 'MB', value: (samples[samples.length - 1]! - warm) / MB, better: 'lower' },
      ],
    };
  } finally {
    clearInterval(sampler);
    await ferry.close();
  }
}

export const memory: Scenario = {
  name: 'memory',
  question: "Does the process's memory stay flat while a large backlog is published and consumed?",
  kind: 'scenario',
  plan: (profile) => [{ id: `memory: ${profile.memoryMessages} messages, threads=0`, scenario: 'memory', system: 'ferry', params: { n: profile.memoryMessages, threads: 0 } }],
  run: (params, dir) => run(params as unknown as MemoryParams, dir),
};
