// fast-check run settings shared by the property tests: a failing run prints its seed and path,
// and `FC_SEED=<seed> FC_PATH=<path> npx vitest run <file>` replays exactly that case.
import type { Parameters } from 'fast-check';

export function propertySettings<T>(defaultRuns: number): Parameters<T> {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  const runs = Number(process.env.FC_RUNS ?? defaultRuns);
  return {
    numRuns: runs,
    ...(seed === undefined ? {} : { seed }),
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    endOnFailure: process.env.FC_SHRINK === '0',
  };
}
