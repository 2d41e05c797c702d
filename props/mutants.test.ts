// Proof that the simulator's checks bite: every planted bug (props/mutants/mutants.ts), applied to
// a temporary copy of the project, must be caught. It runs exactly what the README shows,
// `npm run mutants` with no arguments (issue 9: without --runs it once ran NaN seeds and caught nothing).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from './mutants/mutants.ts';

const root = resolve(import.meta.dirname, '..');

describe('planted bugs', () => {
  it('are each caught by the simulator, with the command the README documents', () => {
    expect(readFileSync(resolve(root, 'README.md'), 'utf8')).toContain('`npm run mutants`');
    // 20 minutes: on a loaded 2-core machine the 21 mutants took 8.7 minutes alone. Most of it is
    // ready-entry-dropped: about 1 seed in 400 catches it (seeds 976, 1016, 1095, 1252 of the first
    // 1,500 at 770f31f), so where it is first caught moves with any change to the runs (263, then 1404).
    const run = spawnSync('npm', ['run', 'mutants'], { cwd: root, encoding: 'utf8', timeout: 1_200_000 });
    const out = `${run.stdout}${run.stderr}`;
    expect(out, out).toContain(`${MUTANTS.length} of ${MUTANTS.length} mutants caught`);
    for (const m of MUTANTS) expect(out).toMatch(new RegExp(`caught\\s+${m.name}\\s.* at seed \\d+`));
    expect(run.status).toBe(0);
  }, 1_200_000);

  // A simulator killed at its time limit proved nothing: on a loaded machine ready-entry-dropped
  // once ran out its 10 minutes and run.ts counted it as caught (at seed ?). Within a second no
  // seed catches it (the first that does is past 900).
  it('are not counted as caught when the simulator is killed at its time limit', () => {
    const run = spawnSync('npm', ['run', 'mutants', '--', '--mutant', 'ready-entry-dropped', '--sim-timeout-seconds', '1'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}${run.stderr}`;
    expect(out, out).toMatch(/TIMEOUT\s+ready-entry-dropped\s/);
    expect(out).not.toMatch(/caught\s+ready-entry-dropped/);
    expect(out).toContain('0 of 1 mutants caught');
    expect(run.status).not.toBe(0);
  }, 120_000);
});
