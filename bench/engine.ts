// What does the whole engine sustain, end to end, per worker-thread count, against the aims?
//
// In one run, for threads 0, 1 and 2, with 100-byte Buffer values, fsync 'interval' and a topic
// of PARTITIONS partitions, four cells (see engine-cell.ts for exactly what each does):
//   publish-many  durable publish rate with publishMany batches of BATCH          aim >= 1M msg/s
//   publish-each  durable publish rate with DEPTH_EACH publish() calls in flight   aim >= 500k msg/s
//   consume       consume+ack rate over a pre-published backlog                  aim >= 400k msg/s
//   latency       publish -> deliver at RATE msg/s, p50 / p99 / p999             aim p99 < 2 ms
// Each cell runs in a fresh child process (`process.execPath --import tsx bench/engine-cell.ts`)
// on a fresh data directory under the temp dir (removed after): worker threads, heaps, JIT state
// and dirty pages do not leak from one cell into the next. Timing is fixed-N wall clock. The
// cells run ROUNDS times, interleaved (round by round), and the report takes the median of the
// rounds per cell, so one of this VM's disk stalls spoils one round rather than one cell.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hrtime } from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  BATCH,
  CONSUMER_IN_FLIGHT,
  COUNTS,
  DEPTH_EACH,
  DEPTH_MANY,
  LATENCY_CONCURRENCY,
  LATENCY_IN_FLIGHT,
  LATENCY_MEASURE_MS,
  LATENCY_WARMUP_MS,
  PARTITIONS,
  RATE,
  SCENARIOS,
  VALUE_BYTES,
  type CellRun,
  type Quantiles,
  type Scenario,
} from './engine-cell.ts';
import type { Benchmark } from './harness.ts';
import { formatFixed, formatRate, formatTable, machineInfo, writeResults } from './report.ts';

const THREADS = [0, 1, 2];
/** Interleaved rounds per cell (odd, so the median is a real run). */
const ROUNDS = 3;
/** A child that takes longer than this is killed and its cell reported as failed. */
const CELL_TIMEOUT_MS = 120_000;
const CELL_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'engine-cell.ts');

/** The aims of the issue, on this 2-core machine. */
const AIMS = {
  'publish-many': 1_000_000,
  'publish-each': 500_000,
  consume: 400_000,
  latencyP99Ms: 2,
} as const;

interface CellResult {
  readonly scenario: Scenario;
  readonly threads: number;
  /** Every round's run, in round order (undefined where the child failed). */
  readonly runs: (CellRun | undefined)[];
  /** The median run: by msg/s for throughput, by deliver p99 for latency. */
  readonly median: CellRun | undefined;
  /** Per-quantile medians over the rounds (latency cells). */
  readonly deliverMs?: Quantiles;
  readonly confirmMs?: Quantiles;
  readonly pacerLagMs?: Quantiles;
  readonly aimMet: boolean | undefined;
}

/** Runs one cell in a fresh process; resolves with its result, or undefined (reported on stderr) if it failed. */
function runChild(scenario: Scenario, threads: number, dir: string): Promise<CellRun | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CELL_SCRIPT, `--scenario=${scenario}`, `--threads=${threads}`, `--dir=${dir}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => {
      console.error(`  ${scenario} threads=${threads}: no result after ${CELL_TIMEOUT_MS} ms, killing pid ${child.pid}`);
      child.kill('SIGKILL');
    }, CELL_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true }); // the child removes it too, unless it died
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) {
        console.error(`  ${scenario} threads=${threads}: child failed (exit ${code ?? signal})`);
        resolve(undefined);
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as CellRun);
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[sorted.length >> 1]!;
}

function medianQuantiles(all: Quantiles[]): Quantiles {
  return { p50: median(all.map((q) => q.p50)), p99: median(all.map((q) => q.p99)), p999: median(all.map((q) => q.p999)), max: median(all.map((q) => q.max)) };
}

function summarise(scenario: Scenario, threads: number, runs: (CellRun | undefined)[]): CellResult {
  const ok = runs.filter((r): r is CellRun => r !== undefined);
  const metric = (r: CellRun): number => (scenario === 'latency' ? r.latency!.deliver.p99 : r.perSec);
  const med = ok.length === 0 ? undefined : [...ok].sort((a, b) => metric(a) - metric(b))[(ok.length - 1) >> 1];
  if (scenario !== 'latency') return { scenario, threads, runs, median: med, aimMet: med ? med.perSec >= AIMS[scenario] : undefined };
  const deliverMs = medianQuantiles(ok.map((r) => r.latency!.deliver));
  const confirmMs = medianQuantiles(ok.map((r) => r.latency!.confirm));
  const pacerLagMs = medianQuantiles(ok.map((r) => r.latency!.pacerLagMs));
  return { scenario, threads, runs, median: med, deliverMs, confirmMs, pacerLagMs, aimMet: ok.length === 0 ? undefined : deliverMs.p99 < AIMS.latencyP99Ms };
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? 'failed' : met ? 'met' : 'MISS';
}

function printTable(cells: readonly CellResult[], threads: readonly number[], rounds: number): void {
  const cell = (s: Scenario, t: number): CellResult | undefined => cells.find((c) => c.scenario === s && c.threads === t);
  const rate = (s: Scenario) => (t: number): string => {
    const c = cell(s, t);
    return c?.median ? `${formatRate(c.median.perSec)} ${verdict(c.aimMet)}` : '-';
  };
  const lat = (q: keyof Quantiles, which: 'deliverMs' | 'confirmMs' | 'pacerLagMs', judge: boolean) => (t: number): string => {
    const c = cell('latency', t);
    const v = c?.[which]?.[q];
    return v === undefined ? '-' : `${formatFixed(v, 2)}${judge ? ` ${verdict(c?.aimMet)}` : ''}`;
  };
  const load = (s: Scenario) => (t: number): string => {
    const m = cell(s, t)?.median;
    return m ? `${formatFixed(m.cpuCores, 2)} / ${formatFixed(m.mainElu, 2)}` : '-';
  };
  const rows: [string, string, (t: number) => string][] = [
    [`publishMany x${BATCH}, ${DEPTH_MANY} calls in flight (msg/s)`, `>= ${formatRate(AIMS['publish-many'])}`, rate('publish-many')],
    [`publish(), ${DEPTH_EACH} in flight (msg/s)`, `>= ${formatRate(AIMS['publish-each'])}`, rate('publish-each')],
    [`consume+ack, ${(COUNTS.consume.warmup + COUNTS.consume.n) / 1000}k backlog, last ${COUNTS.consume.n / 1000}k timed (msg/s)`, `>= ${formatRate(AIMS.consume)}`, rate('consume')],
    [`publish->deliver p50 @ ${RATE / 1000}k/s (ms)`, '', lat('p50', 'deliverMs', false)],
    [`publish->deliver p99 @ ${RATE / 1000}k/s (ms)`, `< ${AIMS.latencyP99Ms}`, lat('p99', 'deliverMs', true)],
    [`publish->deliver p999 @ ${RATE / 1000}k/s (ms)`, '', lat('p999', 'deliverMs', false)],
    [`publish->confirm p50 / p99 @ ${RATE / 1000}k/s (ms)`, '', (t) => `${lat('p50', 'confirmMs', false)(t)} / ${lat('p99', 'confirmMs', false)(t)}`],
    ['  publish() call late vs schedule p99 / max (ms)', '', (t) => `${lat('p99', 'pacerLagMs', false)(t)} / ${lat('max', 'pacerLagMs', false)(t)}`],
    ...SCENARIOS.map((s): [string, string, (t: number) => string] => [`  cpu cores / main ELU: ${s}`, '', load(s)]),
  ];
  console.log(formatTable(['cell', 'aim', ...threads.map((t) => `threads=${t}`)], rows.map(([name, aim, f]) => [name, aim, ...threads.map(f)])));
  console.log(`\nmedian of ${rounds} rounds, each cell in a fresh process and data directory; ${VALUE_BYTES}-byte Buffer values, no key (round-robin),`);
  console.log(`${PARTITIONS} partitions, fsync 'interval'; latency: ${LATENCY_MEASURE_MS / 1000} s measured after ${LATENCY_WARMUP_MS / 1000} s warmup, each quantile the median over rounds;`);
  console.log('publish() late: the 1 ms pacer against its schedule (latency is measured from the actual call; a blocked main loop shows here);');
  console.log('cpu cores: CPU time of the whole process (all threads) / wall time; main ELU: event-loop utilisation of the main thread');
}

function list<T>(flag: string | undefined, all: readonly T[], parse: (s: string) => T): readonly T[] {
  if (flag === undefined) return all;
  const picked = flag.split(',').map(parse);
  for (const p of picked) if (!all.includes(p)) throw new Error(`unknown value ${String(p)}; expected one of ${all.join(', ')}`);
  return picked;
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dirname(CELL_SCRIPT), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function run(flags: ReadonlyMap<string, string>): Promise<void> {
  const threads = list(flags.get('threads'), THREADS, Number);
  const scenarios = list(flags.get('scenario'), SCENARIOS, (s) => s as Scenario);
  const rounds = Number(flags.get('rounds') ?? ROUNDS);
  const root = flags.get('dir') ?? process.env['FERRY_BENCH_DIR'] ?? tmpdir();
  mkdirSync(root, { recursive: true });
  const base = mkdtempSync(join(root, 'ferry-bench-engine-'));
  const machine = machineInfo(root);
  const commit = gitHead();
  const runs = new Map<string, (CellRun | undefined)[]>();
  const started = hrtime.bigint();
  console.log(`disk: ${base}\ncommit: ${commit}\n`);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const scenario of scenarios) {
        for (const t of threads) {
          const r = await runChild(scenario, t, join(base, `${scenario}-${t}-${round}`));
          const key = `${scenario}/${t}`;
          runs.set(key, [...(runs.get(key) ?? []), r]);
          const shown = !r ? 'failed' : r.latency ? `p50 ${formatFixed(r.latency.deliver.p50, 2)} p99 ${formatFixed(r.latency.deliver.p99, 2)} p999 ${formatFixed(r.latency.deliver.p999, 2)} ms` : `${formatRate(r.perSec)} msg/s`;
          console.error(`  round ${round + 1}/${rounds} ${scenario} threads=${t}: ${shown}`);
        }
      }
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const cells = scenarios.flatMap((s) => threads.map((t) => summarise(s, t, runs.get(`${s}/${t}`) ?? [])));
  console.log('');
  printTable(cells, threads, rounds);
  console.log(`\nwall time of the whole benchmark: ${(Number(hrtime.bigint() - started) / 1e9).toFixed(0)} s`);
  const path = writeResults('engine', {
    benchmark: 'engine',
    question: engine.question,
    machine,
    commit,
    settings: {
      valueBytes: VALUE_BYTES,
      value: 'Buffer (decoded by consumers as a Uint8Array view)',
      key: 'none (round-robin over partitions)',
      partitions: PARTITIONS,
      fsync: 'interval',
      rounds,
      publishMany: { batch: BATCH, callsInFlight: DEPTH_MANY, ...COUNTS['publish-many'] },
      publishEach: { inFlight: DEPTH_EACH, ...COUNTS['publish-each'] },
      consume: { maxInFlight: CONSUMER_IN_FLIGHT, mode: 'next() + ack() not awaited', ...COUNTS.consume },
      latency: { rate: RATE, warmupMs: LATENCY_WARMUP_MS, measureMs: LATENCY_MEASURE_MS, concurrency: LATENCY_CONCURRENCY, maxInFlight: LATENCY_IN_FLIGHT, clock: 'process.hrtime.bigint on the main thread' },
      timing: 'fixed-N wall clock per child process, median of interleaved rounds',
    },
    aims: AIMS,
    cells,
  });
  console.log(`results: ${path}`);
}

/** The engine benchmark: publish, consume and latency cells per thread count, each in a fresh process. */
export const engine: Benchmark = {
  name: 'engine',
  question: 'What does the engine sustain end to end (publish, consume+ack, publish->deliver latency) per worker-thread count?',
  run,
};
