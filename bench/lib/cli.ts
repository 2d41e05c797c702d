// Command-line pieces shared by `npm run bench` and `npm run bench:peers`: arguments, the
// progress bar (stderr), and where results go.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROFILES, type Profile } from './profile.ts';
import type { CellPlan } from './scenario.ts';

/** bench/results (gitignored): the last run's rows and report. */
export const RESULTS_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), 'results');

export interface CliOptions {
  readonly profile: Profile;
  /** Scenario names given (all when empty). */
  readonly names: readonly string[];
  /** Print JSON lines on stdout (the tables then go to stderr). */
  readonly json: boolean;
  readonly outPath: string;
  readonly htmlPath: string;
  readonly comparePath?: string;
  /** Also write the run as Markdown tables here (for the README). */
  readonly markdownPath?: string;
  /** Where cells write their data (FERRY_BENCH_DIR or --dir, else the temp dir). */
  readonly dataDir: string;
}

const KNOWN = new Set(['quick', 'tiny', 'json', 'out', 'html', 'markdown', 'compare', 'reps', 'threads', 'dir', 'memory-messages', 'help']);

export const USAGE = `options: --quick (about a minute) | --reps=N | --threads=0,auto (Ferry's, else the profile's)
         --json (JSON lines on stdout) | --out=rows.jsonl
         --html=report.html | --markdown=table.md | --compare=old.jsonl | --dir=<data dir>
         --memory-messages=N (the memory scenario's size; issue 11 asks for 10000000) | [names...]`;

/** Parses `--flag[=value]` arguments and scenario names; throws on an unknown flag. */
export function parseCli(argv: readonly string[], resultsName: string): CliOptions {
  const flags = new Map<string, string>();
  const names: string[] = [];
  for (const arg of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (!m) names.push(arg);
    else if (!KNOWN.has(m[1]!)) throw new Error(`unknown option --${m[1]}\n${USAGE}`);
    else flags.set(m[1]!, m[2] ?? 'true');
  }
  if (flags.has('help')) throw new Error(USAGE);
  const base = flags.has('tiny') ? PROFILES.tiny : flags.has('quick') ? PROFILES.quick : PROFILES.full;
  const reps = flags.has('reps') ? Number(flags.get('reps')) : base.reps;
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a whole number of at least 1, got ${flags.get('reps')}`);
  const threads = flags.has('threads') ? parseThreads(flags.get('threads')!) : base.threads;
  const memoryMessages = flags.has('memory-messages') ? Number(flags.get('memory-messages')) : base.memoryMessages;
  if (!Number.isSafeInteger(memoryMessages) || memoryMessages < 1) throw new Error(`--memory-messages must be a whole number of at least 1, got ${flags.get('memory-messages')}`);
  const dataDir = flags.get('dir') ?? process.env['FERRY_BENCH_DIR'] ?? tmpdir();
  mkdirSync(dataDir, { recursive: true });
  return {
    profile: { ...base, reps, threads, memoryMessages },
    names,
    json: flags.has('json'),
    outPath: flags.get('out') ?? join(RESULTS_DIR, `${resultsName}.jsonl`),
    htmlPath: flags.get('html') ?? join(RESULTS_DIR, `${resultsName}.html`),
    ...(flags.has('compare') ? { comparePath: flags.get('compare')! } : {}),
    ...(flags.has('markdown') ? { markdownPath: flags.get('markdown') === 'true' ? join(RESULTS_DIR, `${resultsName}.md`) : flags.get('markdown')! } : {}),
    dataDir,
  };
}

/** `--threads=0,1,auto`: Ferry's thread counts to run (whole numbers or 'auto'), at least one. */
function parseThreads(value: string): (number | 'auto')[] {
  const threads = value.split(',').map((t) => (t === 'auto' ? 'auto' : Number(t)));
  if (value === 'true' || threads.some((t) => t !== 'auto' && (!Number.isInteger(t) || t < 0))) throw new Error(`--threads takes whole numbers or 'auto', separated by commas (got ${value})`);
  return threads;
}

/** A progress line on stderr: a bar on a terminal, one line per cell otherwise. */
export function progress(done: number, total: number, plan: CellPlan): void {
  const width = 24;
  const filled = Math.round((done / total) * width);
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done + 1}/${total} ${plan.id}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 100) - 1)}${done + 1 === total ? '\n' : ''}`);
  else process.stderr.write(`${line}\n`);
}

/** The command that reproduces this run: the npm script with the arguments given (output paths left out). */
export function commandLine(script: string, argv: readonly string[] = process.argv.slice(2)): string {
  const args = argv.filter((a) => !/^--(out|html|markdown|compare|json)(=|$)/.test(a));
  return `npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`;
}
