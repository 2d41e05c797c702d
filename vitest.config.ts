import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that run long in one process (a child process or a loop of seeds) though their source is
 * short: started first, so the other workers run the rest of the suite beside them. Without a
 * results cache (a clean clone in CI) vitest starts the largest files first, and these small
 * ones came last, running alone at the end while the other core idled.
 */
const LONG_FIRST = ['props/mutants.test.ts', 'props/simulator.test.ts', 'props/exactly-once-kill.test.ts', 'bench/quick-run.test.ts'];

class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = LONG_FIRST.findIndex((p) => f.moduleId.endsWith(`/${p}`));
      return i < 0 ? LONG_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['{core,wal,workers,backends,cli,props,bench,test-support,examples}/**/*.test.ts'],
    // Crash and property tests run real work; keep the whole suite bounded instead of per-test.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One test file per core. vitest's default for `run` is one fewer than the cores: a single
    // worker on the 2-core CI machine, so the files ran one after another with a core idle.
    maxWorkers: availableParallelism(),
    sequence: { sequencer: LongFirstSequencer },
    // .ci/run reads the counts from this report to print its `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.ci/report.json' }]],
  },
});
