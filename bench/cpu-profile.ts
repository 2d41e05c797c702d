// `npm run bench:profile -- <workload> [--threads=N] [--n=N]`: where the main thread's time goes
// on one workload, as the speed issue (11) asks before and after each change. Runs the workload in
// this process against the built package, samples the CPU with the inspector around the timed
// phase only, and prints the rate, the CPU per message (every thread of the process), the main
// thread's event-loop use, and the functions and files with the most self time. The profile is
// written to bench/results/<workload>-t<threads>.cpuprofile (open it in Chrome DevTools). With
// worker threads only the main thread is sampled: a main thread mostly idle says the work is there.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RESULTS_DIR } from './lib/cli.ts';
import { ferryEntryEnv, loadFerry } from './lib/ferry-entry.ts';
import { pipelined } from './lib/pipelined.ts';
import { selfTimes, type CpuProfile } from './lib/self-times.ts';

const WORKLOADS = ['w1', 'w1-many', 'w2', 'w2-run', 'w2-batch', 'w4'] as const;
type Workload = (typeof WORKLOADS)[number];
const USAGE = `usage: npm run bench:profile -- <${WORKLOADS.join('|')}> [--threads=0|1|auto] [--n=200000] [--top=30]
  w1: single publish() calls, 1,000 unconfirmed    w1-many: publishMany of 100, 10 batches unconfirmed
  w2: consume + ack each of a backlog, prefetch 1,000    w4: the same with 10% nacked once
  w2-run: the backlog through consumer.run()    w2-batch: through consumer.runBatches() (up to 100 a batch)`;

function parseArgs(argv: readonly string[]): { workload: Workload; threads: number | 'auto'; n: number; top: number } {
  let workload: Workload | undefined;
  let threads: number | 'auto' = 0;
  let n = 200_000;
  let top = 30;
  for (const arg of argv) {
    const m = /^--(threads|n|top)=(.+)$/.exec(arg);
    if (m?.[1] === 'threads') threads = m[2] === 'auto' ? 'auto' : Number(m[2]);
    else if (m?.[1] === 'n') n = Number(m[2]);
    else if (m?.[1] === 'top') top = Number(m[2]);
    else if ((WORKLOADS as readonly string[]).includes(arg)) workload = arg as Workload;
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (!workload) throw new Error(USAGE);
  if ((threads !== 'auto' && (!Number.isInteger(threads) || threads < 0)) || !Number.isInteger(n) || n < 1000 || !Number.isInteger(top) || top < 1) throw new Error(`bad --threads, --n (>= 1000) or --top\n${USAGE}`);
  return { workload, threads, n, top };
}

/** Publishes `n` messages of 100 bytes in batches of 100 (untimed: the backlog of W2 and W4). */
async function backlog(producer: { publishMany(topic: string, messages: { value: Uint8Array }[]): Promise<unknown> }, n: number): Promise<void> {
  const value = new Uint8Array(100).fill(7);
  await pipelined((i) => producer.publishMany('t', Array.from({ length: Math.min(100, n - i * 100) }, () => ({ value }))), Math.ceil(n / 100), 10);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  Object.assign(process.env, ferryEntryEnv().env);
  const { Ferry } = await loadFerry();
  const dir = mkdtempSync(join(tmpdir(), 'ferry-profile-'));
  const ferry = await Ferry.open({ dir, threads: args.threads, fsync: 'interval' });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  try {
    await ferry.createTopic('t', { partitions: 4, backoff: { kind: 'fixed', delayMs: 0 } });
    const producer = ferry.producer();
    const consuming = args.workload.startsWith('w2') || args.workload === 'w4';
    if (consuming) await backlog(producer, args.n);
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await session.post('Profiler.start');
    if (args.workload === 'w1') {
      const value = new Uint8Array(100).fill(7);
      await pipelined(() => producer.publish('t', { value }), args.n, 1000);
    } else if (args.workload === 'w1-many') await backlog(producer, args.n);
    else if (args.workload === 'w2-run' || args.workload === 'w2-batch') {
      const consumer = ferry.consumer('g', { topics: ['t'], maxInFlight: 1000 });
      let handled = 0;
      let all!: () => void;
      const done = new Promise<void>((resolve) => (all = resolve));
      const count = (): void => void (++handled === args.n && all());
      const running = args.workload === 'w2-run' ? consumer.run(count) : consumer.runBatches((batch) => void batch.forEach(count));
      await done;
      await consumer.close(); // run() resolves once every ack is durable
      await running;
    } else {
      const consumer = ferry.consumer('g', { topics: ['t'], maxInFlight: 1000 });
      let acked = 0;
      await new Promise<void>((resolve, reject) => {
        void (async () => {
          for await (const d of consumer) {
            if (args.workload === 'w4' && d.attempt === 1 && d.offset % 10 === 0) d.nack({ delayMs: 0 }).catch(reject);
            else d.ack().then(() => void (++acked === args.n && resolve()), reject);
          }
        })();
      });
      await consumer.close({ timeoutMs: 100 });
    }
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    await producer.close();
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, `${args.workload}-t${args.threads}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const times = selfTimes(profile);
    const pct = (share: number): string => `${(share * 100).toFixed(1).padStart(5)}%`;
    console.log(`${args.workload}, threads ${args.threads}, ${args.n} messages: ${Math.round(args.n / seconds)} msg/s, CPU ${((cpu.user + cpu.system) / args.n).toFixed(2)} us/msg (all threads), main thread busy ${pct(elu.utilization)}`);
    console.log(`main thread: garbage collection ${pct(times.gc)}, idle ${pct(times.idle)}`);
    console.log('\nself time, by function:');
    for (const f of times.functions.slice(0, args.top)) console.log(`${pct(f.share)}  ${f.name}`);
    console.log('\nself time, by file:');
    for (const f of times.files.slice(0, 15)) console.log(`${pct(f.share)}  ${f.name}`);
    console.log(`\nprofile: ${file}`);
  } finally {
    session.disconnect();
    await ferry.close({ timeoutMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
