// Rebuilds a partition's state from its log: groups, their unsettled messages, attempt counts and
// schedules, producer sequences and the live message ids. Replay starts at the latest complete
// checkpoint (a snapshot of groups and producers), reading older segments only for message ids
// still inside the dedupe window; so the periodic checkpoints keep it short however long the log is.
import type { WriteAheadLog } from '../wal/index.ts';
import { monoDueFromWall, monoFromWall, type ClockReading } from './clock-reading.ts';
import { decodeControl, decodeMeta, messageSlices } from './codec.ts';
import { GroupState } from './group-state.ts';
import type { MessageIdWindow, ProducerTable } from './producer-state.ts';
import { OnceKeys } from './once-keys.ts';
import { PreparedTable } from './partition-transactions.ts';
import { CHECKPOINT_VERSION, TX_APPLY_EPOCH, TxRecordType, type TxDoneRecord, type TxPrepareRecord, RecordType, type AckRecord, type CheckpointRecord, DataFlag, type DeadIntentRecord, type DeadRecord, type GroupRecord, type ProducerRecord, type RetryRecord } from './records.ts';
import { forEachHeader, latestSnapshot, type SnapshotKind, type SnapshotSpan } from './snapshot-parts.ts';

/** How a partition's checkpoints are written and found. */
export const CHECKPOINT_KIND: SnapshotKind = {
  what: 'partition checkpoint',
  partType: RecordType.CHECKPOINT_PART,
  finalType: RecordType.CHECKPOINT,
  version: CHECKPOINT_VERSION,
  legacy: (payload) => decodeControl<CheckpointRecord>(payload),
};

/** What replay rebuilt: the groups, and the checkpoint it started from (if any). */
export interface ReplayedPartition {
  readonly groups: Map<string, GroupState>;
  readonly checkpoint: SnapshotSpan | undefined;
}

/**
 * Rebuilds groups (returned), producers and ids (filled in) from the log, starting at the latest
 * checkpoint. Persisted wall times are judged against `at.wall` and kept in memory as monotonic
 * times (see clock-reading.ts).
 */
export function replayPartition(log: WriteAheadLog, producers: ProducerTable, ids: MessageIdWindow, dedupWindowMs: number, at: ClockReading, txs = new PreparedTable(), once = new OnceKeys()): ReplayedPartition {
  const end = log.nextOffset;
  const now = at.wall;
  const checkpoint = latestSnapshot<CheckpointRecord>(log, CHECKPOINT_KIND);
  const groups = new Map(Object.entries(checkpoint?.body.groups ?? {}).map(([name, s]) => [name, GroupState.restore(name, s, at, checkpoint!.timestamp)]));
  // Producers' idle times are monotonic: a persisted time becomes one, never later than now (a
  // wall clock set back since must not keep a full table refusing new producers).
  const activeAt = (wall: number): number => Math.min(at.mono, monoFromWall(at, wall));
  if (checkpoint) producers.restore(checkpoint.body.producers, activeAt(checkpoint.timestamp)); // idle times run from the checkpoint's time
  txs.restore(checkpoint?.body.txs);
  once.restore(checkpoint?.body.once);
  // Ids published within the window may sit in segments before the checkpoint, no earlier than
  // the checkpoint says (checkpoints before issue 11's recovery work do not say).
  const idsInSegments = dedupWindowMs > 0 ? (log.segments().find((s) => s.maxTimestamp + dedupWindowMs > now)?.baseOffset ?? end) : end;
  const idsFrom = Math.max(idsInSegments, checkpoint?.body.idsFrom ?? 0);
  const start = checkpoint === undefined ? log.startOffset : Math.max(log.startOffset, Math.min(checkpoint.at, idsFrom));
  const idsIn = (b: { type: number; flags: number; timestamp: number }): boolean => dedupWindowMs > 0 && b.timestamp + dedupWindowMs > now && (b.flags & DataFlag.NO_IDS) === 0;
  // Payloads read: the window's id-carrying DATA batches and the control records after the
  // checkpoint. DATA headers (producer sequences) need none, nor do checkpoints (restored above).
  const want = (b: { type: number; flags: number; timestamp: number; baseOffset: number }): boolean => {
    if (b.type === RecordType.DATA) return idsIn(b);
    return (checkpoint === undefined || b.baseOffset >= checkpoint.at) && b.type !== RecordType.CHECKPOINT && b.type !== RecordType.CHECKPOINT_PART;
  };
  forEachHeader(log, start, end, want, (b) => {
    const beforeCheckpoint = checkpoint !== undefined && b.baseOffset < checkpoint.at;
    if (b.type === RecordType.DATA) {
      if (b.producerEpoch === TX_APPLY_EPOCH && b.baseSequence < 0 && !beforeCheckpoint) txs.applied(b.producerId);
      if (b.baseSequence >= 0 && !beforeCheckpoint) producers.record(b.producerId, b.producerEpoch, b.baseSequence, b.recordCount, b.baseOffset, activeAt(b.timestamp));
      if (b.payload && idsIn(b)) {
        messageSlices(b.payload).forEach((record, i) => {
          const meta = decodeMeta(record);
          const id = meta.dedupeKey ?? meta.id; // as the publish gave it to the window
          if (id !== undefined) ids.add(id, b.baseOffset + i, monoFromWall(at, b.timestamp));
        });
      }
      return;
    }
    const payload = b.payload;
    if (beforeCheckpoint || !payload) return; // the checkpoint already holds its effect (or it is one)
    switch (b.type) {
      case RecordType.GROUP: {
        const r = decodeControl<GroupRecord>(payload);
        if (!groups.has(r.g)) groups.set(r.g, new GroupState(r.g, r.ord, Math.max(r.c ?? 0, log.startOffset)));
        break;
      }
      case RecordType.GROUP_RESET: {
        const r = decodeControl<GroupRecord>(payload);
        groups.set(r.g, new GroupState(r.g, r.ord, Math.max(r.c ?? 0, log.startOffset)));
        break;
      }
      case RecordType.GROUP_DELETED: {
        groups.delete(decodeControl<{ g: string }>(payload).g);
        break;
      }
      case RecordType.ACK: {
        const r = decodeControl<AckRecord>(payload);
        const g = groups.get(r.g);
        if (g) for (const o of r.o) g.settle(o, at.mono);
        if (g && r.k) once.record(r.g, r.k, b.timestamp);
        break;
      }
      case RecordType.RETRY:
      case RecordType.DEAD_INTENT: {
        const r = decodeControl<RetryRecord & Partial<DeadIntentRecord>>(payload);
        const g = groups.get(r.g);
        if (!g) break;
        g.replayRetry(r.o, { failures: r.f, due: monoDueFromWall(at, r.due, b.timestamp), firstDeliveredAt: r.fd, lastDeliveredAt: r.ld, lastError: r.e, deadSeq: r.k ?? 0 });
        if (r.k !== undefined) g.deadSeq = Math.max(g.deadSeq, r.k);
        break;
      }
      case RecordType.DEAD: {
        const r = decodeControl<DeadRecord>(payload);
        groups.get(r.g)?.settle(r.o, at.mono);
        break;
      }
      case RecordType.PRODUCER: {
        const r = decodeControl<ProducerRecord>(payload);
        producers.record(r.p, r.e, r.s, r.n, r.o, activeAt(b.timestamp));
        break;
      }
      case TxRecordType.TX_PREPARE: {
        txs.add(decodeControl<TxPrepareRecord>(payload));
        break;
      }
      case TxRecordType.TX_DONE: {
        const r = decodeControl<TxDoneRecord>(payload);
        txs.remove(r.t);
        for (const [group, o, keys] of r.a) {
          groups.get(group)?.settle(o, at.mono);
          if (keys) once.record(group, keys, b.timestamp);
        }
        break;
      }
      // CHECKPOINT and CHECKPOINT_PART: only the latest counts, restored above.
    }
  });
  // Retention deletes messages that expired unsettled after the checkpoint it wrote recorded
  // them: they are gone for every group, as they were before the restart.
  for (const g of groups.values()) g.dropBelow(log.startOffset, at.mono);
  return { groups, checkpoint };
}
