// One before/after cell in a fresh process: `node bench/ab/cell.ts <entry> <workload> <threads> <n>`
// loads the Ferry package at `entry` (a built dist/index.js), runs the workload in process and
// prints one JSON line: msg/s and CPU µs per message (user + system, the whole process).
//   w2: consume + ack each of a backlog (for await, prefetch 1,000)
//   w4: the same, 10% of first attempts nacked (delay 0)
//   w1: single publish() calls, 1,000 unconfirmed
//   w2-run: the backlog through consumer.run() (a sync handler: resolve = ack)
//   w2-batch: the backlog through consumer.runBatches() (batches of up to 100, acked together)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, workload, threadsArg, nArg] = process.argv.slice(2);
if (!entry || !workload) throw new Error('usage: node bench/ab/cell.ts <entry> <w1|w2|w4|w2-run|w2-batch> <threads> <n>');
const { Ferry } = (await import(pathToFileURL(entry).href)) as typeof import('../../index.ts');
const threads = Number(threadsArg ?? 0);
const n = Number(nArg ?? 200_000);
const warm = Math.floor(n / 10);
const dir = mkdtempSync(join(process.env['FERRY_BENCH_DIR'] ?? tmpdir(), 'ferry-ab-'));
const ferry = await Ferry.open({ dir, threads, fsync: 'interval' });
await ferry.createTopic('t', { partitions: 4, backoff: { kind: 'fixed', delayMs: 0 } });
const producer = ferry.producer();
const value = Buffer.alloc(100, 7);

/** Publishes `count` messages, `window` unconfirmed at most, by single calls or batches of 100. */
async function publish(count: number, many: boolean): Promise<void> {
  const per = many ? 100 : 1;
  const depth = many ? 10 : 1000;
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < count) {
      const size = Math.min(per, count - next);
      next += size;
      if (many) await producer.publishMany('t', Array.from({ length: size }, () => ({ value })));
      else await producer.publish('t', { value: Buffer.from(value) });
    }
  };
  await Promise.all(Array.from({ length: depth }, one));
}

let seconds: number;
let cpu: NodeJS.CpuUsage;
if (workload === 'w1') {
  await publish(warm, false);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await publish(n, false);
  seconds = (performance.now() - t0) / 1000;
  cpu = process.cpuUsage(c0);
} else {
  await publish(n + warm, true);
  const failing = workload === 'w4';
  const consumer = ferry.consumer<Buffer>('g', { topics: ['t'], maxInFlight: 1000 });
  let acked = 0;
  let t0 = 0;
  let c0 = process.cpuUsage();
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const onAck = (): void => {
    if (++acked === warm) {
      t0 = performance.now();
      c0 = process.cpuUsage();
    }
    if (acked === n + warm) done();
  };
  let running: Promise<void> | undefined;
  if (workload === 'w2-run') running = consumer.run(() => onAck());
  else if (workload === 'w2-batch') running = consumer.runBatches((batch) => void batch.forEach(onAck), { maxBatchSize: 100 });
  else {
    void (async () => {
      for await (const d of consumer) {
        if (failing && d.attempt === 1 && d.offset % 10 === 3) void d.nack({ delayMs: 0 });
        else void d.ack().then(onAck);
      }
    })();
  }
  await all;
  if (running) {
    // Handlers counted above; their acks are durable once run() resolves after close.
    await consumer.close();
    await running;
  }
  seconds = (performance.now() - t0) / 1000;
  cpu = process.cpuUsage(c0);
  await consumer.close({ timeoutMs: 100 });
}
console.log(JSON.stringify({ msgPerSec: n / seconds, cpuUsPerMsg: (cpu.user + cpu.system) / n }));
await producer.close();
await ferry.close();
rmSync(dir, { recursive: true, force: true });
