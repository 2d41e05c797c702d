// Where a consumer group starts (a new group's `startAt`) or starts again (`resetGroup`'s `to`):
// the beginning of the log, its end, an offset or a time. Validated on the caller's thread, resolved
// to an offset on the partition's.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { resolvePosition } from './partition-inspect.ts';
import type { PartitionScope } from './partition-scope.ts';

/**
 * 'earliest': the oldest message still in the log; 'latest': after the last message published so
 * far (only newer ones are delivered); `{ offset }`: from that offset (clamped to the log);
 * `{ time }`: from the first message published at or after that wall time (ms since the epoch).
 */
export type GroupPosition = 'earliest' | 'latest' | { readonly offset: number } | { readonly time: number };

/** Throws INVALID_ARGUMENT unless `position` is a GroupPosition. */
export function checkGroupPosition(what: string, position: unknown): asserts position is GroupPosition {
  if (position === 'earliest' || position === 'latest') return;
  if (typeof position === 'object' && position !== null) {
    const keys = Object.keys(position);
    const p = position as { offset?: unknown; time?: unknown };
    if (keys.length === 1 && keys[0] === 'offset' && Number.isSafeInteger(p.offset) && (p.offset as number) >= 0) return;
    if (keys.length === 1 && keys[0] === 'time' && typeof p.time === 'number' && Number.isFinite(p.time)) return;
  }
  throw new InvalidArgumentError(`${what} must be 'earliest', 'latest', { offset: n } (a whole number from 0) or { time: ms } (got ${showValue(position)})`);
}

/** The offset a position means on a partition now. */
export function positionOffset(scope: PartitionScope, position: GroupPosition): number {
  const log = scope.c.log;
  if (position === 'earliest') return log.startOffset;
  if (position === 'latest') return log.nextOffset;
  return 'offset' in position ? resolvePosition(scope, position.offset) : resolvePosition(scope, { time: position.time });
}
