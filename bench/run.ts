// `npm run bench [-- --quick] [-- names…]`: every scenario (one question per file in
// bench/scenarios/) with the physical limits (bench/limits/) measured in the same run, each cell
// `reps` times in a fresh process (bench/cell.ts), the median with its spread, each Ferry figure
// with its ratio to the limit that binds it. Writes bench/results/bench.jsonl and bench.html.
// Options: see USAGE in lib/cli.ts. Profile one cell: node --import tsx --cpu-prof bench/cell.ts '<json>'.
import { hrtime } from 'node:process';
import { commandLine, parseCli, progress } from './lib/cli.ts';
import { describeMachine } from './lib/machine.ts';
import { ferryEntryEnv } from './lib/ferry-entry.ts';
import { runCells } from './lib/run-cells.ts';
import { emit } from './report/output.ts';
import { buildRows } from './report/rows.ts';
import { LIMITS, SCENARIOS } from './scenarios/index.ts';

/** A cell's child is killed after this long (its repetition is then reported as failed). */
const CELL_TIMEOUT_MS = 300_000;

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), 'bench');
  const unknown = cli.names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = SCENARIOS.filter((s) => cli.names.length === 0 || cli.names.includes(s.name));
  const plans = [...LIMITS, ...chosen].flatMap((s) => s.plan(cli.profile));
  const machine = describeMachine(cli.dataDir);
  const started = hrtime.bigint();
  const ferry = ferryEntryEnv();
  process.stderr.write(`${plans.length} cells x ${cli.profile.reps} repetitions (${cli.profile.name} profile), data in ${cli.dataDir}; Ferry measured: ${ferry.measured}\n`);
  const cells = await runCells(plans, { reps: cli.profile.reps, timeoutMs: CELL_TIMEOUT_MS, env: { ...process.env, FERRY_BENCH_DIR: cli.dataDir, ...ferry.env }, onProgress: progress });
  const rows = buildRows(cells, [], { profile: cli.profile.name, machine });
  const questions = new Map([...LIMITS, ...SCENARIOS].map((s) => [s.name, s.question]));
  emit(rows, cli, 'Ferry benchmarks', questions, commandLine('bench'));
  process.stderr.write(`wall time ${(Number(hrtime.bigint() - started) / 1e9).toFixed(0)} s on ${machine.cpu} x${machine.cores}, load ${machine.loadAvg.join(' ')}\n`);
  if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
}

await main().catch((error: unknown) => {
  // A usage error or a failure of the harness itself (not of a cell: those are rows marked FAILED).
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
