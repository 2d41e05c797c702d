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
    // 20 minutes: on a loaded 2-core machine the 21 mutants took 8.7 minutes alone (ready-entry-dropped,
    // caught at seed 1404 since issue 12's admin workload changed the runs of half the seeds, 6 of them).
    const run = spawnSync('npm', ['run', 'mutants'], { cwd: root, encoding: 'utf8', timeout: 1_200_000 });
    const out = `${run.stdout}${run.stderr}`;
    expect(out, out).toContain(`${MUTANTS.length} of ${MUTANTS.length} mutants caught`);
    for (const m of MUTANTS) expect(out).toMatch(new RegExp(`caught\\s+${m.name}\\s.* at seed \\d+`));
    expect(run.status).toBe(0);
  }, 1_200_000);
});
