// Message-id dedupe of one publish batch: which messages repeat an id seen within the window (or
// earlier in the same batch), and the batch re-framed without them. Pure but for the window.
import { frameMessages, messageSlices } from './codec.ts';
import type { PublishRequest } from './partition-api.ts';
import type { MessageIdWindow } from './producer-state.ts';

/** A publish batch after id dedupe. */
export interface DedupedBatch {
  readonly payload: Uint8Array;
  /** Messages left to append. */
  readonly count: number;
  /** Per message: its original's offset when a duplicate of an earlier one, else -1 (filled by the caller). */
  readonly offsets: number[];
  readonly duplicates: boolean[];
  /** Per message: the index of its first occurrence in this batch when it repeats one, else -1. */
  readonly firstInBatch: number[];
}

/** Drops the messages whose id is live in `window` or repeats one earlier in the batch. */
export function dropDuplicateIds(request: PublishRequest, window: MessageIdWindow | undefined, now: number): DedupedBatch {
  const offsets = Array<number>(request.count).fill(-1);
  const duplicates = Array<boolean>(request.count).fill(false);
  const firstInBatch = Array<number>(request.count).fill(-1);
  const ids = request.ids;
  if (!ids || !window) return { payload: request.payload, count: request.count, offsets, duplicates, firstInBatch };
  window.reserve(ids.filter((id) => id).length, now);
  const seenInBatch = new Map<string, number>();
  let dropped = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!id) continue;
    const earlier = window.lookup(id, now);
    const first = seenInBatch.get(id);
    if (earlier !== undefined) offsets[i] = earlier;
    else if (first !== undefined) firstInBatch[i] = first;
    else {
      seenInBatch.set(id, i);
      continue;
    }
    duplicates[i] = true;
    dropped++;
  }
  if (dropped === 0) return { payload: request.payload, count: request.count, offsets, duplicates, firstInBatch };
  // Re-framed without the duplicates: records are length-prefixed, so no value is decoded.
  const kept = messageSlices(request.payload).filter((_, i) => !duplicates[i]);
  return { payload: frameMessages(kept), count: kept.length, offsets, duplicates, firstInBatch };
}
