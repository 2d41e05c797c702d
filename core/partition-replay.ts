// Rebuilds a partition's state from its log: groups, their unsettled messages, attempt counts and
// schedules, producer sequences and the live message ids. Replay starts at the latest checkpoint
// (a snapshot of groups and producers), reading older segments only for message ids still inside
// the dedupe window; so the periodic checkpoints keep it short however long the log is.
import type { ReadBatch, WriteAheadLog } from '../wal/index.ts';
import { decodeControl, decodeMeta, messageSlices } from './codec.ts';
import { GroupState } from './group-state.ts';
import type { MessageIdWindow, ProducerTable } from './producer-state.ts';
import { RecordType, type AckRecord, type CheckpointRecord, type DeadIntentRecord, type DeadRecord, type GroupRecord, type ProducerRecord, type RetryRecord } from './records.ts';

function forEachBatch(log: WriteAheadLog, from: number, to: number, visit: (b: ReadBatch) => void): void {
  for (let offset = from; offset < to; ) {
    const batches = log.read(offset, { maxBytes: 1024 * 1024, upToOffset: to });
    if (batches.length === 0) break;
    for (const b of batches) {
      visit(b);
      offset = b.baseOffset + b.recordCount;
    }
  }
}

/** Offset of the latest CHECKPOINT record, looking in the newest segments first. */
function latestCheckpoint(log: WriteAheadLog): number | undefined {
  const segments = log.segments();
  for (let i = segments.length - 1; i >= 0; i--) {
    let found: number | undefined;
    forEachBatch(log, Math.max(segments[i]!.baseOffset, log.startOffset), segments[i]!.endOffset, (b) => {
      if (b.type === RecordType.CHECKPOINT) found = b.baseOffset;
    });
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Rebuilds groups (returned), producers and ids (filled in) from the log, starting at the latest checkpoint. */
export function replayPartition(log: WriteAheadLog, producers: ProducerTable, ids: MessageIdWindow, dedupWindowMs: number, now: number): Map<string, GroupState> {
  let groups = new Map<string, GroupState>();
  const end = log.nextOffset;
  const checkpoint = latestCheckpoint(log);
  // Ids published within the window may sit in segments before the checkpoint.
  const idsFrom = dedupWindowMs > 0 ? (log.segments().find((s) => s.maxTimestamp + dedupWindowMs > now)?.baseOffset ?? end) : end;
  const start = checkpoint === undefined ? log.startOffset : Math.max(log.startOffset, Math.min(checkpoint, idsFrom));
  forEachBatch(log, start, end, (b) => {
    const beforeCheckpoint = checkpoint !== undefined && b.baseOffset < checkpoint;
    if (b.type === RecordType.DATA) {
      if (b.baseSequence >= 0 && !beforeCheckpoint) producers.record(b.producerId, b.producerEpoch, b.baseSequence, b.recordCount, b.baseOffset, b.timestamp);
      if (dedupWindowMs > 0 && b.timestamp + dedupWindowMs > now) {
        messageSlices(b.payload).forEach((record, i) => {
          const id = decodeMeta(record).id;
          if (id !== undefined) ids.add(id, b.baseOffset + i, b.timestamp);
        });
      }
      return;
    }
    if (beforeCheckpoint) return; // the checkpoint already holds its effect
    switch (b.type) {
      case RecordType.GROUP: {
        const r = decodeControl<GroupRecord>(b.payload);
        if (!groups.has(r.g)) groups.set(r.g, new GroupState(r.g, r.ord, log.startOffset));
        break;
      }
      case RecordType.ACK: {
        const r = decodeControl<AckRecord>(b.payload);
        const g = groups.get(r.g);
        if (g) for (const o of r.o) g.settle(o, now);
        break;
      }
      case RecordType.RETRY:
      case RecordType.DEAD_INTENT: {
        const r = decodeControl<RetryRecord & Partial<DeadIntentRecord>>(b.payload);
        const g = groups.get(r.g);
        if (!g) break;
        g.replayRetry(r.o, { failures: r.f, due: r.due, firstDeliveredAt: r.fd, lastDeliveredAt: r.ld, lastError: r.e, deadSeq: r.k ?? 0 });
        if (r.k !== undefined) g.deadSeq = Math.max(g.deadSeq, r.k);
        break;
      }
      case RecordType.DEAD: {
        const r = decodeControl<DeadRecord>(b.payload);
        groups.get(r.g)?.settle(r.o, now);
        break;
      }
      case RecordType.PRODUCER: {
        const r = decodeControl<ProducerRecord>(b.payload);
        producers.record(r.p, r.e, r.s, r.n, r.o, b.timestamp);
        break;
      }
      case RecordType.CHECKPOINT: {
        const r = decodeControl<CheckpointRecord>(b.payload);
        groups = new Map(Object.entries(r.groups).map(([name, s]) => [name, GroupState.restore(name, s)]));
        producers.restore(r.producers, b.timestamp);
        break;
      }
    }
  });
  return groups;
}
