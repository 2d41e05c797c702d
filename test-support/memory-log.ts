// Helpers for tests and the simulator: a log on the in-memory fault disk with a manual clock.
import { WriteAheadLog } from '../wal/log.ts';
import type { LogOptions } from '../wal/options.ts';
import { ManualClock } from '../wal/seams/clock.ts';
import { MemoryFileSystem, type MemoryFileSystemOptions } from '../wal/seams/memory-file-system.ts';
import { SeededRandom } from '../wal/seams/random.ts';

export interface MemoryLogSetup {
  readonly fs: MemoryFileSystem;
  readonly clock: ManualClock;
  readonly dir: string;
  open(overrides?: Partial<LogOptions>): Promise<WriteAheadLog>;
}

/** A fault disk, a manual clock and a function that opens a log on them. */
export function memoryLogSetup(seed = 1, fsOptions: Partial<MemoryFileSystemOptions> = {}, defaults: Partial<LogOptions> = {}): MemoryLogSetup {
  const fs = new MemoryFileSystem({ random: new SeededRandom(seed), ...fsOptions });
  const clock = new ManualClock(1_700_000_000_000);
  const dir = '/data/log';
  // Each log opened gets its own view of the disk: after a crash, an abandoned one can touch nothing.
  return { fs, clock, dir, open: (overrides = {}) => WriteAheadLog.open({ dir, fs: fs.processView(), clock, ...defaults, ...overrides }) };
}

/** A payload that names its own index, so tests can tell batches apart. */
export function payloadOf(i: number, size = 20): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, 8));
  new DataView(bytes.buffer).setUint32(0, i, true);
  for (let j = 4; j < bytes.length; j++) bytes[j] = (i * 31 + j) & 0xff;
  return bytes;
}

/** The index stored by `payloadOf`. */
export function indexOfPayload(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
}

/** Lets queued microtasks (and promise callbacks) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
}

/**
 * Awaits `work` on a disk whose syncs are manual, releasing every sync it asks for meanwhile.
 * Rejects if `work` does not settle within `maxRounds` rounds.
 */
export async function driveSyncs<T>(fs: MemoryFileSystem, work: Promise<T>, maxRounds = 10_000): Promise<T> {
  let settled = false;
  const tracked = work.finally(() => { settled = true; });
  tracked.catch(() => {});
  for (let round = 0; !settled; round++) {
    if (round >= maxRounds) throw new Error(`work did not settle after ${maxRounds} rounds of releasing syncs`);
    fs.releaseSyncs();
    await settle();
  }
  return tracked;
}
