// Runs planned cells on the runner's thread: each repetition of each cell in a fresh child
// process (bench/cell.ts), round by round (every cell once, then again), so a stall of the machine
// spoils one repetition of one cell rather than every repetition of it.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_PREFIX, type CellOutput } from './cell-output.ts';
import type { CellPlan } from './scenario.ts';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const CELL_SCRIPT = join(BENCH_DIR, 'cell.ts');

/** One repetition's outcome: its output, or why it produced none. */
export type RepOutcome = { readonly ok: true; readonly output: CellOutput } | { readonly ok: false; readonly error: string };

export interface CellRuns {
  readonly plan: CellPlan;
  readonly reps: RepOutcome[];
}

export interface RunOptions {
  readonly reps: number;
  /** A child running longer is killed (by its PID) and the repetition counted as failed. */
  readonly timeoutMs: number;
  /** Environment of the children (e.g. FERRY_BENCH_DIR). */
  readonly env?: NodeJS.ProcessEnv;
  /** Called before each child starts: done so far, total, the cell. */
  readonly onProgress?: (done: number, total: number, plan: CellPlan) => void;
}

/** Parses a child's stdout: the output after the RESULT line, or undefined. */
export function parseResult(stdout: string): CellOutput | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  return line === undefined ? undefined : (JSON.parse(line.slice(RESULT_PREFIX.length)) as CellOutput);
}

/** Runs one repetition of `plan` in a fresh process. */
export function runChild(plan: CellPlan, options: Pick<RunOptions, 'timeoutMs' | 'env'>): Promise<RepOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CELL_SCRIPT, JSON.stringify({ scenario: plan.scenario, params: plan.params })], {
      cwd: dirname(BENCH_DIR),
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const output = code === 0 ? parseResult(out) : undefined;
      if (output) return resolve({ ok: true, output });
      const why = timedOut ? `no result after ${options.timeoutMs} ms (killed)` : `exit ${code ?? signal}`;
      const lastLines = err.trim().split('\n').slice(-3).join(' | ');
      resolve({ ok: false, error: lastLines ? `${why}: ${lastLines}` : why });
    });
  });
}

/** Runs every plan `reps` times, round by round; resolves with each plan's repetitions in order. */
export async function runCells(plans: readonly CellPlan[], options: RunOptions): Promise<CellRuns[]> {
  const runs = plans.map((plan): CellRuns => ({ plan, reps: [] }));
  const total = plans.length * options.reps;
  let done = 0;
  for (let rep = 0; rep < options.reps; rep++) {
    for (const cell of runs) {
      options.onProgress?.(done, total, cell.plan);
      cell.reps.push(await runChild(cell.plan, options));
      done++;
    }
  }
  return runs;
}
