import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,wal,workers,backends,cli,props,bench,test-support,examples}/**/*.test.ts'],
    // Crash and property tests run real work; keep the whole suite bounded instead of per-test.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // .ci/run reads the counts from this report to print its `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.ci/report.json' }]],
  },
});
