// A partition's figures at one instant (runs on the partition's thread, answering the `stats`
// command): its counters and histograms, and the gauges read from its state: per group what is in
// flight, delayed, ready, not yet read, and how old the oldest unsettled message is.
import { RecordType } from './records.ts';
import type { HistogramSnapshot } from './metrics-histogram.ts';
import type { GroupCounters, PartitionEvent, PartitionMetrics } from './partition-metrics.ts';
import type { PartitionScope } from './partition-scope.ts';

/** One group on one partition: its counters since the partition opened, and its gauges now. */
export interface GroupPartitionStats extends Readonly<GroupCounters> {
  readonly group: string;
  /** Leased to a consumer now. */
  readonly inFlight: number;
  /** Waiting for a retry's backoff or a publish delay. */
  readonly delayed: number;
  /** Being moved to the dead-letter topic. */
  readonly dying: number;
  /** Unsettled messages: in flight, delayed, ready, and those the group has not read yet (lag in messages). */
  readonly backlog: number;
  /** True when the unread part was too long to count at this scrape and is an upper bound. */
  readonly backlogEstimated: boolean;
  /** Publish time (wall ms) of the oldest message the group has not settled, or null when none. */
  readonly oldestUnsettledAt: number | null;
}

/** A partition's figures, as the `stats` command answers them (plain data). */
export interface PartitionStats {
  readonly topic: string;
  readonly partition: number;
  readonly published: number;
  readonly duplicates: number;
  readonly startOffset: number;
  readonly nextOffset: number;
  readonly logBytes: number;
  readonly logSegments: number;
  /** Why the last checkpoint failed (retention is blocked until one succeeds), or null. */
  readonly checkpointError: string | null;
  readonly confirm: HistogramSnapshot;
  readonly deliver: HistogramSnapshot;
  readonly handler: HistogramSnapshot;
  readonly fsync: HistogramSnapshot;
  /** How long the partition took to open, and what recovery cut from its log (0 when nothing). */
  readonly recoveryMs: number;
  readonly recoveryCutBytes: number;
  /** Distinguishes this run of the partition from an earlier one (a worker restart opens it again). */
  readonly incarnation: number;
  readonly groups: readonly GroupPartitionStats[];
  /** The partition's alert events since the last `stats` that took them (only when asked). */
  readonly events: readonly PartitionEvent[];
  readonly eventsDropped: number;
}

/** Bytes of the log read, per scrape, to count unread messages exactly; past it the count is an upper bound. */
export const MAX_STATS_SCAN_BYTES = 4 * 1024 * 1024;

interface DataSpan {
  readonly baseOffset: number;
  readonly count: number;
  readonly timestamp: number;
}

/** DATA batches from `from` to the committed end (at most MAX_STATS_SCAN_BYTES of them): for lag and ages. */
function dataSpans(scope: PartitionScope, from: number): { spans: DataSpan[]; scannedTo: number } {
  const log = scope.c.log;
  const spans: DataSpan[] = [];
  let at = Math.max(from, log.startOffset);
  let bytes = 0;
  while (at < log.committedEnd && bytes < MAX_STATS_SCAN_BYTES) {
    const batches = log.read(at, { maxBytes: 256 * 1024 });
    if (batches.length === 0) break;
    for (const b of batches) {
      bytes += b.payload.byteLength;
      if (b.type === RecordType.DATA) spans.push({ baseOffset: b.baseOffset, count: b.recordCount, timestamp: b.timestamp });
      at = b.baseOffset + b.recordCount;
    }
  }
  return { spans, scannedTo: at };
}

/** The partition's figures now; with `takeEvents` its pending alert events are handed over too. */
export function partitionStats(scope: PartitionScope, metrics: PartitionMetrics, checkpointError: Error | undefined, takeEvents: boolean): PartitionStats {
  const { c, groups } = scope;
  const log = c.log;
  const now = c.clock.monotonicNow();
  let lowest = log.committedEnd;
  for (const g of groups.values()) {
    lowest = Math.min(lowest, g.cursor);
    for (const offset of g.pending.keys()) lowest = Math.min(lowest, offset);
  }
  const { spans, scannedTo } = groups.size === 0 ? { spans: [], scannedTo: log.committedEnd } : dataSpans(scope, lowest);
  // Spans are in offset order: a binary search, since it runs per settled offset too.
  const publishedAt = (offset: number): number | null => {
    let lo = 0;
    let hi = spans.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = spans[mid]!;
      if (offset < s.baseOffset) hi = mid - 1;
      else if (offset >= s.baseOffset + s.count) lo = mid + 1;
      else return s.timestamp;
    }
    return null;
  };
  const groupStats = [...groups.values()].map((g): GroupPartitionStats => {
    let inFlight = 0;
    let delayed = 0;
    let dying = 0;
    let oldest = g.cursor;
    for (const p of g.pending.values()) {
      oldest = Math.min(oldest, p.offset);
      if (p.deadSeq > 0) dying++;
      else if (p.lease) inFlight++;
      else if (p.due > now) delayed++;
    }
    let unread = 0;
    for (const s of spans) unread += Math.max(0, s.baseOffset + s.count - Math.max(s.baseOffset, g.cursor));
    // Messages past the cursor that replay found settled (acked or dead-lettered before a restart).
    for (const offset of g.aheadSettled) if (offset >= g.cursor && publishedAt(offset) !== null) unread--;
    const estimated = scannedTo < log.committedEnd;
    if (estimated) unread += log.committedEnd - Math.max(scannedTo, g.cursor);
    const backlog = g.pending.size + unread;
    if (oldest === g.cursor) oldest = firstUnsettledAtOrAfter(spans, g.cursor, g.aheadSettled);
    return { group: g.name, ...metrics.peekGroup(g.name), inFlight, delayed, dying, backlog, backlogEstimated: estimated, oldestUnsettledAt: backlog === 0 ? null : publishedAt(oldest) };
  });
  const segments = log.segments();
  const taken = takeEvents ? metrics.takeEvents() : { events: [], dropped: 0 };
  return {
    topic: c.topic,
    partition: c.partition,
    published: metrics.published,
    duplicates: metrics.duplicates,
    startOffset: log.startOffset,
    nextOffset: log.nextOffset,
    logBytes: segments.reduce((sum, s) => sum + s.sizeBytes, 0),
    logSegments: segments.length,
    checkpointError: checkpointError ? checkpointError.message : null,
    confirm: metrics.confirm.snapshot(),
    deliver: metrics.deliver.snapshot(),
    handler: metrics.handler.snapshot(),
    fsync: metrics.fsync.snapshot(),
    recoveryMs: metrics.recoveryMs,
    recoveryCutBytes: log.recovery.truncated?.droppedBytes ?? 0,
    incarnation: c.incarnation,
    groups: groupStats,
    events: taken.events,
    eventsDropped: taken.dropped,
  };
}

/** The first message offset at or after `offset` that is not settled already (a cursor may rest on a control record). */
function firstUnsettledAtOrAfter(spans: readonly DataSpan[], offset: number, settled: ReadonlySet<number>): number {
  for (const s of spans) {
    for (let o = Math.max(offset, s.baseOffset); o < s.baseOffset + s.count; o++) if (!settled.has(o)) return o;
  }
  return offset;
}
