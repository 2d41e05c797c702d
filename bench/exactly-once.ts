// One question (issue 13): what does `exactlyOnce` cost a consume-transform-produce pipeline?
// The same pipeline (read `in`, publish one 100-byte output to `out` per input, ack the input) runs
// at-least-once (producer.publish, then resolve = ack) and exactlyOnce (tx.publish, one transaction
// per input; concurrent ones share the decision log's group commit), alternating, in one process
// on one machine; the report is each one's messages/s and the ratio (aim: >= 0.8 at concurrency
// 16). Then the commit latency of a single small transaction (one publish, one ack), p50/p99.
//
//   npx tsx bench/exactly-once.ts [--n=20000] [--rounds=3] [--threads=0]
//
// Each pipeline run has a data directory of its own (a backlog of N inputs published first,
// untimed); the clock runs from the first handler call to the last output's commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ferry } from '../index.ts';

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const N = arg('n', 20_000);
const ROUNDS = arg('rounds', 3);
const THREADS = arg('threads', 0);
const CONCURRENCY = 16;
const VALUE = Buffer.alloc(100, 7);
const LATENCY_SAMPLES = arg('samples', 2000);

async function withEngine<T>(run: (ferry: Ferry) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-eo-'));
  const ferry = await Ferry.open({ dir, threads: THREADS });
  try {
    await ferry.createTopic('in', { partitions: 4 });
    await ferry.createTopic('out', { partitions: 4 });
    return await run(ferry);
  } finally {
    await ferry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Messages per second of the pipeline, at-least-once or exactlyOnce. */
function pipeline(exactlyOnce: boolean): Promise<number> {
  return withEngine(async (ferry) => {
    const producer = ferry.producer();
    for (let i = 0; i < N; i += 1000) await producer.publishMany('in', Array.from({ length: Math.min(1000, N - i) }, () => ({ value: VALUE })));
    const consumer = ferry.consumer<Buffer>('pipeline', { topics: ['in'], maxInFlight: 256 });
    let done = 0;
    let started = 0;
    let finished!: () => void;
    const all = new Promise<void>((resolve) => (finished = resolve));
    const count = (): void => {
      if (++done === N) finished();
    };
    const running = exactlyOnce
      ? consumer.run(async (d, tx) => {
          started ||= performance.now();
          await tx.publish('out', { value: d.value });
        }, { exactlyOnce: true, concurrency: CONCURRENCY })
      : consumer.run(async (d) => {
          started ||= performance.now();
          await producer.publish('out', { value: d.value });
        }, { concurrency: CONCURRENCY });
    // Count settled inputs by reading the outputs (both modes publish exactly one per input).
    const reader = ferry.consumer('count', { topics: ['out'], maxInFlight: 4096 });
    const reading = reader.run((d) => {
      void d;
      count();
    }, { concurrency: 64 });
    await all;
    const ms = performance.now() - started;
    await consumer.close();
    await reader.close();
    await Promise.all([running, reading]);
    return (N / ms) * 1000;
  });
}

/** Commit latency of one small transaction (one publish, one ack), in ms: p50 and p99. */
function commitLatency(): Promise<{ p50: number; p99: number }> {
  return withEngine(async (ferry) => {
    await ferry.producer().publishMany('in', Array.from({ length: LATENCY_SAMPLES }, () => ({ value: VALUE })));
    const consumer = ferry.consumer<Buffer>('latency', { topics: ['in'], maxInFlight: 16 });
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const d = (await consumer.next())!;
      const at = performance.now();
      await ferry.transaction((tx) => {
        void tx.publish('out', { value: d.value });
        void tx.ack(d);
      });
      samples.push(performance.now() - at);
    }
    await consumer.close();
    samples.sort((a, b) => a - b);
    return { p50: samples[Math.floor(samples.length * 0.5)]!, p99: samples[Math.floor(samples.length * 0.99)]! };
  });
}

const atLeastOnce: number[] = [];
const exactly: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  atLeastOnce.push(await pipeline(false));
  exactly.push(await pipeline(true));
  console.error(`round ${round + 1}: at-least-once ${atLeastOnce.at(-1)!.toFixed(0)}/s, exactlyOnce ${exactly.at(-1)!.toFixed(0)}/s`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const latency = await commitLatency();
console.log(
  JSON.stringify({
    n: N,
    threads: THREADS,
    concurrency: CONCURRENCY,
    atLeastOncePerSec: Math.round(median(atLeastOnce)),
    exactlyOncePerSec: Math.round(median(exactly)),
    ratio: Number((median(exactly) / median(atLeastOnce)).toFixed(2)),
    commitLatencyMs: { p50: Number(latency.p50.toFixed(2)), p99: Number(latency.p99.toFixed(2)) },
  }),
);
