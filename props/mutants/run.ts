// `npm run mutants`: applies each planted bug (mutants.ts) to a temporary copy of the project,
// runs the simulator on it, and fails unless every mutant is caught. Reports which check caught
// each and after how many seeds.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { integerFlag, stringFlag } from '../sim/flags.ts';
import { MUTANTS } from './mutants.ts';

const root = resolve(import.meta.dirname, '../..');
// Without --runs: 2,000 seeds per mutant (each stops at the first seed that catches it).
const runs = integerFlag(process.argv, 'runs', 2000);
if (runs === 0) throw new Error('--runs must be at least 1: a mutant run on no seed proves nothing');
// `--mutant <name>`: that one alone.
const only = stringFlag(process.argv, 'mutant');
// `--sim-timeout-seconds <s>`: how long one mutant's simulator may run (default 600).
const simTimeoutMs = integerFlag(process.argv, 'sim-timeout-seconds', 600) * 1000;
if (simTimeoutMs === 0) throw new Error('--sim-timeout-seconds must be at least 1');
const chosen = MUTANTS.filter((m) => only === undefined || m.name === only);
if (chosen.length === 0) throw new Error(`no mutant named ${JSON.stringify(only)}; the names are in props/mutants/mutants.ts`);
let escaped = 0;
for (const mutant of chosen) {
  const copy = mkdtempSync(join(tmpdir(), `ferry-mutant-${mutant.name}-`));
  try {
    for (const entry of ['core', 'wal', 'props', 'workers', 'test-support', 'index.ts', 'package.json', 'tsconfig.json']) cpSync(join(root, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    for (const edit of mutant.edits) {
      const path = join(copy, edit.file);
      const text = readFileSync(path, 'utf8');
      if (!text.includes(edit.find)) throw new Error(`mutant ${mutant.name}: ${edit.file} no longer contains the text to replace; update mutants.ts`);
      writeFileSync(path, text.replace(edit.find, edit.replace));
    }
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'props/sim/cli.ts', '--runs', String(runs)], { cwd: copy, encoding: 'utf8', timeout: simTimeoutMs });
    const out = `${result.stdout}${result.stderr}`;
    const seed = /seed (\d+) FAILED/.exec(out)?.[1];
    const check = /\n {2}([^:\n]+):/.exec(out.slice(out.indexOf('FAILED')))?.[1];
    // A mutant that does not even run is a broken mutant, not a caught one.
    if (/TransformError|SyntaxError/.test(out)) throw new Error(`mutant ${mutant.name} does not compile: ${out.trim().split('\n').slice(-3).join(' ')}`);
    // Killed at the time limit (or by a signal) before a seed failed, it proved nothing: a loaded
    // machine once ran ready-entry-dropped out of its 10 minutes, and it counted as caught.
    const killed = !seed && (result.error !== undefined || result.signal !== null);
    const threw = !seed && !killed && result.status !== 0;
    if (seed || threw) console.log(`caught   ${mutant.name.padEnd(26)} (${mutant.breaks}) at seed ${seed ?? '?'}: ${check ?? out.trim().split('\n').pop()}`);
    else {
      escaped++;
      if (killed) console.log(`TIMEOUT  ${mutant.name.padEnd(26)} (${mutant.breaks}) no seed caught it in ${simTimeoutMs / 1000} s (--sim-timeout-seconds): ${result.error?.message ?? result.signal}`);
      else console.log(`ESCAPED  ${mutant.name.padEnd(26)} (${mutant.breaks}) in ${runs} seeds`);
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
console.log(`\n${chosen.length - escaped} of ${chosen.length} mutants caught`);
if (escaped > 0) process.exitCode = 1;
