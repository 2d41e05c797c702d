// Both clock readings at one instant, and the conversions between them at the persistence
// boundary. In memory, every schedule (lease deadlines, retry and delay due times, dedupe
// expiries) is monotonic, so a step of the wall clock moves none of them; on disk, times are wall
// times (a monotonic reading means nothing to another process). Runs on the partition's thread.
import type { Clock } from '../wal/index.ts';

/** Wall and monotonic time read together (see the Clock seam). */
export interface ClockReading {
  readonly wall: number;
  readonly mono: number;
}

export function readClock(clock: Clock): ClockReading {
  return { wall: clock.now(), mono: clock.monotonicNow() };
}

/**
 * The monotonic time at which persisted wall time `wallMs` falls due: as far ahead of (or behind)
 * the monotonic reading as `wallMs` is of the wall reading. A wall time of 0 is "none"
 * (a message without delay): due since always, -Infinity.
 */
export function monoFromWall(at: ClockReading, wallMs: number): number {
  return wallMs === 0 ? Number.NEGATIVE_INFINITY : wallMs - at.wall + at.mono;
}

/**
 * The monotonic due time of persisted wall time `wallMs`, written at wall time `writtenAtWall`:
 * as monoFromWall, but never further away than it was when written. A wall clock set back since
 * (an NTP step, a restored VM) must not stretch a retry's or a delay's wait by the step.
 */
export function monoDueFromWall(at: ClockReading, wallMs: number, writtenAtWall: number): number {
  if (wallMs === 0) return Number.NEGATIVE_INFINITY;
  return at.mono + Math.min(wallMs - at.wall, wallMs - writtenAtWall);
}

/** The wall time to persist for monotonic time `monoMs`, in whole milliseconds (-Infinity persists as 0). */
export function wallFromMono(at: ClockReading, monoMs: number): number {
  return monoMs === Number.NEGATIVE_INFINITY ? 0 : Math.round(monoMs - at.mono + at.wall);
}
