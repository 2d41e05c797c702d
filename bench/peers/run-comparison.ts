// One run of a comparison across systems (`bench:peers`, `bench:nats`): starts the peers' private
// servers, runs the cells each repetition in a fresh process, prints and writes the rows, and
// stops exactly the servers it started (also on Ctrl-C). A peer that cannot start is a skipped row.
import { hrtime } from 'node:process';
import { commandLine, progress, type CliOptions } from '../lib/cli.ts';
import { describeMachine } from '../lib/machine.ts';
import { ferryEntryEnv } from '../lib/ferry-entry.ts';
import { runCells } from '../lib/run-cells.ts';
import type { CellPlan } from '../lib/scenario.ts';
import { emit } from '../report/output.ts';
import { buildRows, type Row, type Skipped } from '../report/rows.ts';
import { startPeers, type PeerName, type RunningPeer } from './servers.ts';

const CELL_TIMEOUT_MS = 300_000;

export interface ComparisonRun {
  readonly cli: CliOptions;
  readonly peers: readonly PeerName[];
  /** The cells to run, given the peers that started. */
  plans(running: readonly RunningPeer[]): CellPlan[];
  readonly title: string;
  readonly questions: ReadonlyMap<string, string>;
  /** The npm script, for the command that reproduces the run. */
  readonly script: string;
  /** Printed after the tables. */
  after?(rows: readonly Row[]): void;
}

export async function runComparison(run: ComparisonRun): Promise<void> {
  const { cli } = run;
  const machine = describeMachine(cli.dataDir);
  const started = hrtime.bigint();
  if (run.peers.length) process.stderr.write(`starting peers: ${run.peers.join(', ')}\n`);
  const fleet = await startPeers(run.peers, cli.dataDir);
  const stop = (): void => void fleet.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    for (const [, reason] of fleet.skipped) process.stderr.write(`skipped: ${reason}\n`);
    const skipped: Skipped[] = [...fleet.skipped].map(([name, reason]) => ({ scenario: 'peers', cell: `peers: all workloads | ${name}`, system: name, reason }));
    const cellPlans = run.plans(fleet.running);
    process.stderr.write(`${cellPlans.length} cells x ${cli.profile.reps} repetitions (${cli.profile.name} profile)\n`);
    const ferry = ferryEntryEnv();
    process.stderr.write(`Ferry measured: ${ferry.measured}\n`);
    const cells = await runCells(cellPlans, { reps: cli.profile.reps, timeoutMs: CELL_TIMEOUT_MS, env: { ...process.env, FERRY_BENCH_DIR: cli.dataDir, ...ferry.env }, onProgress: progress });
    const rows = buildRows(cells, skipped, { profile: cli.profile.name, machine });
    emit(rows, cli, run.title, run.questions, commandLine(run.script));
    run.after?.(rows);
    process.stderr.write(`wall time ${(Number(hrtime.bigint() - started) / 1e9).toFixed(0)} s on ${machine.cpu} x${machine.cores}, load ${machine.loadAvg.join(' ')}\n`);
    if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    await fleet.stop();
  }
}
