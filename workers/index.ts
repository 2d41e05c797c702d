// The threaded runtime's surface for the composition root (index.ts).
import type { RuntimeFactory } from '../core/ferry.ts';
import { InvalidArgumentError, nodeFileSystem, realClock } from '../wal/index.ts';
import { WorkerRuntime } from './worker-runtime.ts';

export { WorkerRuntime } from './worker-runtime.ts';
export { ShardCrashedError, ShardFailedError } from './shard.ts';

/** Builds the worker runtime from the engine's options. Workers use the real disk and clock. */
export const createWorkerRuntime: RuntimeFactory = ({ threads, local }) => {
  if (local.fs !== nodeFileSystem || local.clock !== realClock) {
    throw new InvalidArgumentError('threads > 0 runs partitions on worker threads, which use the real file system and clock; pass no fs/clock seams, or use threads: 0');
  }
  return new WorkerRuntime({
    threads,
    dir: local.dir,
    fsync: local.fsync,
    fsyncIntervalMs: local.fsyncIntervalMs,
    segmentBytes: local.segmentBytes,
    maxMessageBytes: local.maxMessageBytes,
    limits: local.limits,
    seed: local.random.int(2 ** 31),
  });
};
