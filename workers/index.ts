// The threaded runtime's surface for the composition root (index.ts).
import { availableParallelism } from 'node:os';
import type { RuntimeFactory } from '../core/index.ts';
import { InvalidArgumentError, nodeFileSystem, realClock, showValue } from '../wal/index.ts';
import { recordCacheShare, refuseUnknownOptions } from '../core/index.ts';
import type { RestartPolicy } from './shard.ts';
import { WorkerRuntime, checkWorkerHeapMb, type WorkerRuntimeOptions } from './worker-runtime.ts';

export { MIN_WORKER_HEAP_MB, WorkerRuntime } from './worker-runtime.ts';
export type { WorkerRuntimeOptions } from './worker-runtime.ts';
export { ShardCrashedError, ShardFailedError } from './shard.ts';
export type { RestartPolicy, ShardDeath, ShardHealth } from './shard.ts';
export type { FaultDrill } from './protocol.ts';

/** The worker runtime's own options, beyond those `Ferry.open` passes. */
export type WorkerRuntimeExtras = Partial<Pick<WorkerRuntimeOptions, 'restart' | 'maxWorkerHeapMb' | 'heartbeat'>>;

/**
 * A factory for the worker runtime with some of its own options set, for
 * `Ferry.open(options, factory)`: the restart budget (`restart`) and the heap cap of each worker
 * thread (`maxWorkerHeapMb`, piscina's `resourceLimits.maxOldGenerationSizeMb`).
 * @example Ferry.open({ dir, threads: 2 }, workerRuntimeFactory({ maxWorkerHeapMb: 256 }))
 */
export function workerRuntimeFactory(extra: WorkerRuntimeExtras = {}): RuntimeFactory {
  // Checked here, before Ferry.open has taken the data directory. Unknown names are refused: the
  // extras are spread over the runtime's options, so a stray one would also override them.
  refuseUnknownOptions('workerRuntimeFactory options', extra, ['restart', 'maxWorkerHeapMb', 'heartbeat']);
  checkWorkerHeapMb(extra.maxWorkerHeapMb);
  if (extra.restart !== undefined) checkRestartPolicy(extra.restart);
  if (extra.heartbeat !== undefined) checkHeartbeat(extra.heartbeat);
  return (options) => new WorkerRuntime({ ...workerOptions(options), ...extra });
}

/** Builds the worker runtime from the engine's options. Workers use the real disk and clock. */
export const createWorkerRuntime: RuntimeFactory = (options) => new WorkerRuntime(workerOptions(options));

function workerOptions({ threads, local }: Parameters<RuntimeFactory>[0]): WorkerRuntimeOptions {
  if (local.fs !== nodeFileSystem || local.clock !== realClock) {
    throw new InvalidArgumentError('threads > 0 runs partitions on worker threads, which use the real file system and clock; pass no fs/clock seams, or use threads: 0');
  }
  // 'auto': a shard per core, leaving one core to the caller's thread.
  const shards = threads === 'auto' ? Math.max(1, availableParallelism() - 1) : threads;
  return {
    threads: shards,
    dir: local.dir,
    fsync: local.fsync,
    fsyncIntervalMs: local.fsyncIntervalMs,
    segmentBytes: local.segmentBytes,
    zeroFillBytes: local.zeroFillBytes,
    repair: local.repair === true,
    maxMessageBytes: local.maxMessageBytes,
    // Each shard is a runtime of its own: it gets its share of the engine's record cache budget.
    limits: recordCacheShare(local.limits, shards),
    seed: local.random.int(2 ** 31),
  };
}

/** Throws naming `name` unless `value` is a whole number from `min` (`minText` says why that one). */
function wholeAtLeast(name: string, value: unknown, min: number, minText = String(min)): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new InvalidArgumentError(`${name} must be a whole number from ${minText} (got ${showValue(value)})`);
}

function checkRestartPolicy(p: RestartPolicy): void {
  refuseUnknownOptions('restart', p, ['maxRestarts', 'windowMs', 'backoffMs']);
  wholeAtLeast('restart.maxRestarts', p.maxRestarts, 0);
  wholeAtLeast('restart.windowMs', p.windowMs, 1);
  wholeAtLeast('restart.backoffMs', p.backoffMs, 0);
}

function checkHeartbeat(h: { readonly intervalMs: number; readonly hungAfterMs: number }): void {
  refuseUnknownOptions('heartbeat', h, ['intervalMs', 'hungAfterMs']);
  wholeAtLeast('heartbeat.intervalMs', h.intervalMs, 10);
  wholeAtLeast('heartbeat.hungAfterMs', h.hungAfterMs, 2 * h.intervalMs, `2 × intervalMs (${2 * h.intervalMs})`);
}
