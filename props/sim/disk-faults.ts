// The disk side of a simulated run, shared by the engine's simulator (simulation.ts) and
// `ferry/testing` (props/testing/simulate.ts), so both heal and drive the fault disk the same way.
// Runs on the caller's thread.
import type { MemoryFileSystem } from '../../wal/fault-disk.ts';

/** Lets promise callbacks run: `rounds` turns of the event loop. */
export async function eventLoopTurns(rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The disk has room again and its syncs succeed (a crash's restart, or the end of the faults). */
export function healDisk(fs: MemoryFileSystem): void {
  fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
  fs.faults.fsyncFailure = 0;
}

/**
 * Awaits `pending` while completing the disk's syncs, with no virtual time passing (opening the
 * engine, which waits for its own syncs), for at most `maxRounds` rounds of `turns` event-loop turns.
 */
export async function driveDisk<T>(fs: MemoryFileSystem, pending: Promise<T>, turns: number, maxRounds: number): Promise<T> {
  let done = false;
  const tracked = pending.finally(() => (done = true));
  tracked.catch(() => {});
  for (let i = 0; !done && i < maxRounds; i++) {
    fs.releaseSyncs();
    await eventLoopTurns(turns);
  }
  return tracked;
}
