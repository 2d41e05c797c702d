// Helpers for tests that run the engine on the real disk, in-thread or on worker threads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ferry, type FerryOptions } from '../index.ts';
import type { RuntimeFactory } from '../core/ferry.ts';
import { workerRuntimeFactory } from '../workers/index.ts';
import type { RestartPolicy } from '../workers/shard.ts';
import type { WorkerRuntime } from '../workers/worker-runtime.ts';

export interface RealFerry {
  readonly dir: string;
  /** The worker runtime of the last open (threads > 0), to kill shards. */
  runtime: WorkerRuntime | undefined;
  open(overrides?: Partial<FerryOptions>): Promise<Ferry>;
  cleanup(): void;
}

export function realFerry(threads: number, restart?: RestartPolicy): RealFerry {
  const dir = mkdtempSync(join(tmpdir(), `ferry-t${threads}-`));
  const setup: RealFerry = {
    dir,
    runtime: undefined,
    open: (overrides = {}) => {
      const factory: RuntimeFactory = (o) => {
        const runtime = workerRuntimeFactory(restart ? { restart } : {})(o) as WorkerRuntime;
        setup.runtime = runtime;
        return runtime;
      };
      return Ferry.open({ dir, threads, ...overrides }, factory);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return setup;
}

/** Waits (on the wall clock) until `check` holds, up to `ms`. */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
