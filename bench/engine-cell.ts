// One cell of the engine benchmark (bench/engine.ts), run in a fresh process so that no cell
// inherits another's JIT state, heap, worker threads or page-cache-dirty data directory:
//
//   node --import tsx bench/engine-cell.ts --scenario=publish-many --threads=0 --dir=/tmp/x
//
// It opens Ferry on `--dir` (created, and removed afterwards), runs one scenario, and prints one
// line `RESULT <json>` (a CellRun) on stdout; progress and errors go to stderr. Run it by hand
// to profile a cell: `node --cpu-prof --import tsx bench/engine-cell.ts --scenario=consume --threads=0`.
// Diagnostic overrides, never used by bench/engine.ts: `--fsync=none|always` (is it the disk?) and
// `--in-flight=N` (the consumer's maxInFlight).
//
// Scenarios (every message: a 100-byte Buffer value, no key, so round-robin over the partitions):
//   publish-many  DEPTH_MANY publishMany calls of BATCH messages kept in flight; fixed N messages
//   publish-each  DEPTH_EACH individual publish() calls kept in flight; fixed N messages
//   consume       a backlog of WARMUP + N messages published first (untimed), then one member
//                 takes deliveries with next() and acks each without awaiting it (maxInFlight
//                 bounds the unsettled ones); the clock runs from the WARMUP-th ack to the last
//   latency       publish() at RATE msg/s from a 1 ms pacer, each value stamped with
//                 process.hrtime.bigint() at the call; consumer.run on the same (main) thread
//                 reads the stamp when the handler is called: publish -> deliver, in one clock
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hrtime } from 'node:process';
import { performance } from 'node:perf_hooks';
import { Ferry, type FsyncPolicy, type Message, type Producer } from '../index.ts';
import { pipelined } from './harness.ts';

export type Scenario = 'publish-many' | 'publish-each' | 'consume' | 'latency';
export const SCENARIOS: readonly Scenario[] = ['publish-many', 'publish-each', 'consume', 'latency'];

export const TOPIC = 'bench';
/** Partitions of the topic: more than the 2 shards of threads=2 (so both get work), few enough that each batch stays large. */
export const PARTITIONS = 4;
export const VALUE_BYTES = 100;
/** Messages per publishMany call. */
export const BATCH = 1000;
/** publishMany calls in flight: the producer merges what queues behind a partition's in-flight batch. */
export const DEPTH_MANY = 8;
/** Individual publish() calls in flight. */
export const DEPTH_EACH = 10_000;
/** Deliveries a consumer holds unsettled (buffered or being acked). */
export const CONSUMER_IN_FLIGHT = 8192;
/** Latency: offered rate and duration. */
export const RATE = 10_000;
export const LATENCY_WARMUP_MS = 1000;
export const LATENCY_MEASURE_MS = 5000;
/** Latency: consumer.run concurrency and the consumer's maxInFlight. */
export const LATENCY_CONCURRENCY = 256;
export const LATENCY_IN_FLIGHT = 1024;

/** Messages per scenario: untimed warmup first, then N timed. */
export const COUNTS: Record<Exclude<Scenario, 'latency'>, { warmup: number; n: number }> = {
  'publish-many': { warmup: 100_000, n: 500_000 },
  'publish-each': { warmup: 50_000, n: 300_000 },
  consume: { warmup: 20_000, n: 180_000 },
};

/** Overrides for diagnosing a cell by hand; the benchmark runs without them. */
export interface Diagnostics {
  readonly fsync?: FsyncPolicy;
  readonly inFlight?: number;
}

/** What a cell reports. Throughput cells fill n/ns/perSec; the latency cell fills latency. */
export interface CellRun {
  readonly scenario: Scenario;
  readonly threads: number;
  readonly n: number;
  readonly ns: number;
  readonly perSec: number;
  /** CPU time of the whole process (all threads) over the timed window, as a share of one core. */
  readonly cpuCores: number;
  /** Event-loop utilisation of the main thread (producer and consumer clients) over the timed window. */
  readonly mainElu: number;
  readonly latency?: LatencyResult;
}

export interface LatencyResult {
  /** Offered and achieved publish rate (msg/s) over the measured window. */
  readonly rate: number;
  readonly achievedRate: number;
  readonly samples: number;
  /** publish() call -> handler called, ms. */
  readonly deliver: Quantiles;
  /** publish() call -> publish promise resolved (durable), ms. */
  readonly confirm: Quantiles;
  /** How late the pacer called publish() against its schedule, ms (a stalled main loop shows here). */
  readonly pacerLagMs: Quantiles;
}

export interface Quantiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

function quantiles(sample: Float64Array | number[]): Quantiles {
  const sorted = Float64Array.from(sample).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted[sorted.length - 1] ?? Number.NaN };
}


function value(): Buffer {
  const v = Buffer.alloc(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i++) v[i] = (i * 2654435761) >>> 24;
  return v;
}

/** Times `work` on the wall clock, with CPU time and main-thread event-loop utilisation alongside. */
async function timed(work: () => Promise<void>): Promise<{ ns: number; cpuCores: number; mainElu: number }> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = hrtime.bigint();
  await work();
  const ns = Number(hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return { ns, cpuCores: (used.user + used.system) / 1e3 / (ns / 1e6), mainElu: performance.eventLoopUtilization(elu).utilization };
}

/** `count` messages in publishMany calls of BATCH, DEPTH_MANY calls in flight. */
function publishMany(producer: Producer, count: number): Promise<void> {
  const v = value();
  const full: Message<Buffer>[] = Array.from({ length: BATCH }, () => ({ value: v }));
  const calls = Math.ceil(count / BATCH);
  return pipelined((i) => producer.publishMany(TOPIC, i < calls - 1 || count % BATCH === 0 ? full : full.slice(0, count % BATCH)), calls, DEPTH_MANY);
}

function publishEach(producer: Producer, count: number): Promise<void> {
  const message: Message<Buffer> = { value: value() }; // encoded (copied) by publish(): one object serves every call
  return pipelined(() => producer.publish(TOPIC, message), count, DEPTH_EACH);
}

async function throughput(ferry: Ferry, scenario: 'publish-many' | 'publish-each', threads: number): Promise<CellRun> {
  const { warmup, n } = COUNTS[scenario];
  const producer = ferry.producer();
  const publish = scenario === 'publish-many' ? publishMany : publishEach;
  await publish(producer, warmup);
  const t = await timed(() => publish(producer, n));
  await producer.close();
  return { scenario, threads, n, ns: t.ns, perSec: n / (t.ns / 1e9), cpuCores: t.cpuCores, mainElu: t.mainElu };
}

async function consume(ferry: Ferry, threads: number, inFlight: number): Promise<CellRun> {
  const { warmup, n } = COUNTS.consume;
  const total = warmup + n;
  const producer = ferry.producer();
  await publishMany(producer, total);
  await producer.close();
  const consumer = ferry.consumer<Uint8Array>('bench', { topics: [TOPIC], maxInFlight: inFlight });
  let bytes = 0;
  let acked = 0;
  let warm!: () => void;
  const warmedUp = new Promise<void>((resolve) => (warm = resolve));
  const all = new Promise<void>((resolve, reject) => {
    const onAcked = (): void => {
      if (++acked === warmup) warm();
      if (acked === total) resolve();
    };
    (async () => {
      for (let taken = 0; taken < total; taken++) {
        const d = await consumer.next();
        if (!d) throw new Error(`consumer ended after ${taken} of ${total} deliveries`);
        bytes += d.value.length; // touch the decoded value, as a handler would
        d.ack().then(onAcked, reject);
      }
    })().catch(reject);
  });
  all.catch(() => {}); // awaited below; a failure during warmup must not go unhandled meanwhile
  await warmedUp;
  const t = await timed(() => all);
  await consumer.close();
  if (bytes !== total * VALUE_BYTES) throw new Error(`consumed ${bytes} value bytes, expected ${total * VALUE_BYTES}`);
  return { scenario: 'consume', threads, n, ns: t.ns, perSec: n / (t.ns / 1e9), cpuCores: t.cpuCores, mainElu: t.mainElu };
}

async function latency(ferry: Ferry, threads: number, inFlight: number): Promise<CellRun> {
  const producer = ferry.producer();
  const consumer = ferry.consumer<Uint8Array>('bench', { topics: [TOPIC], maxInFlight: inFlight });
  const expected = Math.round((RATE * (LATENCY_WARMUP_MS + LATENCY_MEASURE_MS)) / 1000);
  const deliverNs = new Float64Array(expected);
  const confirmNs = new Float64Array(expected);
  const lagNs = new Float64Array(expected);
  let delivered = 0;
  let allDelivered!: () => void;
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  // Sequence number in bytes 0..3, publish time (hrtime ns) in bytes 8..15.
  const running = consumer.run(
    (d) => {
      const at = hrtime.bigint();
      const v = new DataView(d.value.buffer, d.value.byteOffset, d.value.byteLength);
      const seq = v.getUint32(0, true);
      deliverNs[seq] = Number(at - v.getBigUint64(8, true));
      if (++delivered === expected) allDelivered();
    },
    { concurrency: LATENCY_CONCURRENCY },
  );
  running.catch(() => {});
  // Let the consumer register its group and park its long-polls before the first publish
  // (messages published earlier would still come, from the group's start; they are warmup anyway).
  await new Promise((resolve) => setTimeout(resolve, 200));
  let failure: unknown;
  const pending: Promise<unknown>[] = [];
  const warmupCount = Math.round((RATE * LATENCY_WARMUP_MS) / 1000);
  let windowStart = 0n;
  let windowEnd = 0n;
  const elu0 = { value: performance.eventLoopUtilization() };
  let cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const start = hrtime.bigint();
    let sent = 0;
    const tick = (): void => {
      const now = hrtime.bigint();
      const due = Math.min(expected, Math.floor((Number(now - start) / 1e9) * RATE));
      for (; sent < due; sent++) {
        const scheduled = start + BigInt(Math.round((sent / RATE) * 1e9));
        const v = Buffer.alloc(VALUE_BYTES);
        v.writeUInt32LE(sent, 0);
        const t0 = hrtime.bigint();
        lagNs[sent] = Number(t0 - scheduled);
        if (sent === warmupCount) {
          windowStart = t0;
          elu0.value = performance.eventLoopUtilization();
          cpu0 = process.cpuUsage();
        }
        v.writeBigUInt64LE(t0, 8);
        const seq = sent;
        pending.push(
          producer.publish(TOPIC, { value: v }).then(
            () => void (confirmNs[seq] = Number(hrtime.bigint() - t0)),
            (error: unknown) => void (failure ??= error),
          ),
        );
      }
      if (sent >= expected) {
        windowEnd = hrtime.bigint();
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  const windowNs = Number(windowEnd - windowStart);
  const cpu = process.cpuUsage(cpu0);
  const mainElu = performance.eventLoopUtilization(elu0.value).utilization;
  await Promise.all(pending);
  if (failure) throw failure;
  let stuck: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((_, reject) => (stuck = setTimeout(() => reject(new Error(`only ${delivered} of ${expected} delivered 10 s after the last publish`)), 10_000)))]);
  clearTimeout(stuck);
  await consumer.close();
  await running;
  await producer.close();
  const measured = expected - warmupCount;
  const ms = (a: Float64Array): Float64Array => a.subarray(warmupCount).map((ns) => ns / 1e6);
  const deliver = quantiles(ms(deliverNs));
  return {
    scenario: 'latency',
    threads,
    n: measured,
    ns: windowNs,
    perSec: measured / (windowNs / 1e9),
    cpuCores: (cpu.user + cpu.system) / 1e3 / (windowNs / 1e6),
    mainElu,
    latency: { rate: RATE, achievedRate: measured / (windowNs / 1e9), samples: measured, deliver, confirm: quantiles(ms(confirmNs)), pacerLagMs: quantiles(ms(lagNs)) },
  };
}

/** Opens Ferry on a fresh directory, runs one scenario, closes, removes the directory. */
export async function runCell(scenario: Scenario, threads: number, dir: string, diagnostics: Diagnostics = {}): Promise<CellRun> {
  mkdirSync(dir, { recursive: true });
  const ferry = await Ferry.open({ dir, threads, fsync: diagnostics.fsync ?? 'interval' });
  try {
    await ferry.createTopic(TOPIC, { partitions: PARTITIONS });
    switch (scenario) {
      case 'publish-many':
      case 'publish-each':
        return await throughput(ferry, scenario, threads);
      case 'consume':
        return await consume(ferry, threads, diagnostics.inFlight ?? CONSUMER_IN_FLIGHT);
      case 'latency':
        return await latency(ferry, threads, diagnostics.inFlight ?? LATENCY_IN_FLIGHT);
    }
  } finally {
    await ferry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const flags = new Map<string, string>();
  for (const arg of process.argv.slice(2)) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unexpected argument ${arg}; expected --scenario=… --threads=… [--dir=…]`);
    flags.set(m[1]!, m[2]!);
  }
  const scenario = flags.get('scenario') as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const threads = Number(flags.get('threads') ?? 0);
  const base = flags.has('dir') ? undefined : mkdtempSync(join(tmpdir(), 'ferry-bench-engine-'));
  const dir = flags.get('dir') ?? join(base!, 'data');
  const fsync = flags.get('fsync') as FsyncPolicy | undefined;
  const inFlight = flags.has('in-flight') ? Number(flags.get('in-flight')) : undefined;
  try {
    const run = await runCell(scenario, threads, dir, { ...(fsync ? { fsync } : {}), ...(inFlight ? { inFlight } : {}) });
    process.stdout.write(`RESULT ${JSON.stringify(run)}\n`);
  } finally {
    if (base) rmSync(base, { recursive: true, force: true });
  }
}

// Only when run as a script (bench/engine.ts imports the constants and types).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
