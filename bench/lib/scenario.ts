// The shape of a benchmark scenario (one file per question under bench/scenarios/ or
// bench/limits/): it plans its cells for a profile on the runner, and runs one cell in a child.
import type { CellOutput } from './cell-output.ts';
import type { Profile } from './profile.ts';

/** JSON-serialisable parameters of one cell (they cross into the child process). */
export type CellParams = Readonly<Record<string, unknown>>;

/** One cell: run `reps` times, each in a fresh process. */
export interface CellPlan {
  /** Unique in a run and stable across runs (the `--compare` key), e.g. `publish: each threads=0`. */
  readonly id: string;
  readonly scenario: string;
  readonly params: CellParams;
  /** The system measured: `ferry`, a peer name, or `limit`. */
  readonly system: string;
}

export interface Scenario {
  readonly name: string;
  /** The question it answers, printed as its heading. */
  readonly question: string;
  /** Limits are measured by every run and are not selectable by name. */
  readonly kind: 'scenario' | 'limit';
  plan(profile: Profile): CellPlan[];
  /** Runs one cell in this (fresh) process; `dir` is an empty directory on the benchmark disk. */
  run(params: CellParams, dir: string): Promise<CellOutput>;
}
