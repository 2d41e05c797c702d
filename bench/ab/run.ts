// Before against after, in one run: `npx tsx bench/ab/run.ts <before-entry> <after-entry> [reps]`
// where each entry is a built package (`<tree>/dist/index.js`; build an old commit with
// `git worktree add /tmp/old <commit> && cd /tmp/old && npx tsc -p tsconfig.build.json`). Each
// cell runs in a fresh process, before and after alternating, so a stall of the machine hits
// both; prints each figure's range and the median of the pairwise after/before ratios.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CELL = join(dirname(fileURLToPath(import.meta.url)), 'cell.ts');
const [before, after, repsArg] = process.argv.slice(2);
if (!before || !after) throw new Error('usage: npx tsx bench/ab/run.ts <before dist/index.js> <after dist/index.js> [reps]');
const reps = Number(repsArg ?? 3);
const CELLS = [
  { workload: 'w2', threads: 0 },
  { workload: 'w2', threads: 1 },
  { workload: 'w4', threads: 0 },
  { workload: 'w1', threads: 0 },
] as const;

interface Result {
  readonly msgPerSec: number;
  readonly cpuUsPerMsg: number;
}

function run(entry: string, workload: string, threads: number): Result {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CELL, entry, workload, String(threads), '200000'], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Result;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const k = (x: number): string => `${(x / 1000).toFixed(0)}k`;
console.log('cell               before msg/s    after msg/s     ratio (median)  CPU us/msg before -> after');
for (const c of CELLS) {
  const b: Result[] = [];
  const a: Result[] = [];
  for (let i = 0; i < reps; i++) {
    b.push(run(before, c.workload, c.threads));
    a.push(run(after, c.workload, c.threads));
  }
  const ratio = median(a.map((r, i) => r.msgPerSec / b[i]!.msgPerSec));
  const range = (rs: Result[]): string => `${k(Math.min(...rs.map((r) => r.msgPerSec)))}-${k(Math.max(...rs.map((r) => r.msgPerSec)))}`;
  console.log(`${`${c.workload} threads=${c.threads}`.padEnd(19)}${range(b).padEnd(16)}${range(a).padEnd(16)}${ratio.toFixed(2).padEnd(16)}${median(b.map((r) => r.cpuUsPerMsg)).toFixed(1)} -> ${median(a.map((r) => r.cpuUsPerMsg)).toFixed(1)}`);
}
