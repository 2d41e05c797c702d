// Proof that the simulator's checks bite: every planted bug (props/mutants/mutants.ts), applied to
// a temporary copy of the project, must be caught. The same as `npm run mutants`.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from './mutants/mutants.ts';

describe('planted bugs', () => {
  it('are each caught by the simulator', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'props/mutants/run.ts', '--runs', '500'], { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', timeout: 300_000 });
    const out = `${run.stdout}${run.stderr}`;
    expect(out, out).toContain(`${MUTANTS.length} of ${MUTANTS.length} mutants caught`);
    expect(run.status).toBe(0);
  }, 300_000);
});
