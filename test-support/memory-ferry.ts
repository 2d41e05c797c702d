// Helpers for engine tests and the simulator: an engine on the in-memory fault disk with a manual clock.
import { ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { Ferry, type FerryOptions } from '../core/ferry.ts';
import { LocalRuntime } from '../core/local-runtime.ts';
import type { PartitionCommand } from '../core/partition-protocol.ts';
import type { PartitionRuntime } from '../core/runtime.ts';

export interface MemoryFerrySetup {
  readonly fs: MemoryFileSystem;
  readonly clock: ManualClock;
  open(overrides?: Partial<FerryOptions>): Promise<Ferry>;
}

export function memoryFerry(seed = 1, defaults: Partial<FerryOptions> = {}): MemoryFerrySetup {
  const fs = new MemoryFileSystem({ random: new SeededRandom(seed) });
  const clock = new ManualClock(1_700_000_000_000);
  let run = 0;
  return {
    fs,
    clock,
    // Each engine gets its own view of the disk: after a crash, the abandoned one can touch nothing.
    open: (overrides = {}) => Ferry.open({ dir: '/ferry', fs: fs.processView(), clock, random: new SeededRandom(seed * 1000 + run++), ...defaults, ...overrides }),
  };
}

/**
 * Opens an engine on `memory` (in-thread partitions) whose every partition command passes through
 * `intercept` first: it may answer in the partition's place (a promise), or return undefined to let
 * the command through (for tests of lost requests, or counting what is sent).
 */
export function openIntercepting(memory: MemoryFerrySetup, intercept: (command: PartitionCommand) => Promise<never> | undefined, overrides: Partial<FerryOptions> = {}): Promise<Ferry> {
  return Ferry.open({ dir: '/ferry', fs: memory.fs.processView(), clock: memory.clock, random: new SeededRandom(77), threads: 1, ...overrides }, ({ local }) => {
    const inner: PartitionRuntime = new LocalRuntime(local);
    return new Proxy(inner, {
      get(target, name) {
        const value = Reflect.get(target, name, target) as unknown;
        if (name !== 'call') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        return (command: PartitionCommand) => intercept(command) ?? target.call(command);
      },
    });
  });
}

/**
 * Opens an engine with topic `orders`, publishes `value` there in half transaction `id`, then
 * crashes (`kind`): the next open finds the transaction in doubt.
 */
export async function halfThenCrash(memory: MemoryFerrySetup, id: string, value: unknown, kind: 'power' | 'process', options: Partial<FerryOptions> = {}): Promise<void> {
  const ferry = await memory.open(options);
  await ferry.createTopic('orders');
  const tx = await ferry.beginTransaction({ id });
  await tx.publish('orders', { value });
  memory.fs.crash(kind);
}

/** Lets promise callbacks and microtasks run (several rounds, for chains of awaits). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Starts `consumer.next()` without awaiting it: `.value` is the delivery once one arrives
 * (undefined until then), for tests that check nothing comes before the time is right.
 */
export function pendingNext<T>(consumer: { next(): Promise<T | undefined> }): { readonly value: T | undefined } {
  const pending: { value: T | undefined } = { value: undefined };
  void consumer.next().then((d) => (pending.value = d));
  return pending;
}

type LocalRuntimeOptions = ConstructorParameters<typeof LocalRuntime>[0];

/**
 * A partition runtime on this thread over the in-memory fault disk, for tests that drive partition
 * commands directly: directory '/r', a manual clock, group commit, small limits (`limits` merges
 * over them; every other option may be replaced).
 */
export function memoryRuntime(options: Partial<Omit<LocalRuntimeOptions, 'limits'>> & { readonly limits?: Partial<LocalRuntimeOptions['limits']> } = {}): LocalRuntime {
  const { limits, ...rest } = options;
  return new LocalRuntime({
    dir: '/r',
    fs: new MemoryFileSystem({ random: new SeededRandom(5) }),
    clock: new ManualClock(1_700_000_000_000),
    random: new SeededRandom(6),
    fsync: 'interval',
    fsyncIntervalMs: 0,
    segmentBytes: 1 << 20,
    maxMessageBytes: 1 << 16,
    ...rest,
    limits: { maxUnsettledPerGroup: 10_000, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 100_000, maxGroups: 10, recordCacheBytes: 64 * 1024, ...limits },
  });
}
