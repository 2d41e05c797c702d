// Where retention may cut a partition's log: below it, every segment is either settled by every
// group (and out of the dedupe window) or expired by retention.ms / retention.bytes. Never past
// the latest durable checkpoint (replay starts there) nor past a message being dead-lettered.
import type { SegmentInfo } from '../wal/index.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';

/** What retention decides from: the segments, the groups' progress, the checkpoint and the options. */
export interface RetentionInput {
  readonly segments: readonly SegmentInfo[];
  readonly startOffset: number;
  readonly checkpointAt: number;
  /** Every DATA offset below this is settled by every group. */
  readonly settledBelow: number;
  readonly firstDying: number;
  readonly options: ResolvedTopicOptions;
  readonly now: number;
}

/** The offset below which whole segments may be deleted (`startOffset` when none may). */
export function retentionCut(input: RetentionInput): number {
  const { retention, dedupWindowMs } = input.options;
  let cut = input.startOffset;
  let bytes = input.segments.reduce((sum, seg) => sum + seg.sizeBytes, 0);
  for (const seg of input.segments) {
    if (seg.active || seg.endOffset > input.checkpointAt || seg.endOffset > input.firstDying) break;
    const settled = seg.endOffset <= input.settledBelow && seg.maxTimestamp + dedupWindowMs <= input.now;
    const expired = (retention.ms > 0 && seg.maxTimestamp + retention.ms <= input.now) || (retention.bytes > 0 && bytes > retention.bytes);
    if (!settled && !expired) break;
    cut = seg.endOffset;
    bytes -= seg.sizeBytes;
  }
  return cut;
}
