// Rebuilds a partition's state by reading its log once: groups, their unsettled messages,
// attempt counts and schedules, producer sequences and the live message ids.
import type { WriteAheadLog } from '../wal/index.ts';
import { decodeControl, decodeMeta, messageSlices } from './codec.ts';
import { GroupState } from './group-state.ts';
import type { MessageIdWindow, ProducerTable } from './producer-state.ts';
import { RecordType, type AckRecord, type CheckpointRecord, type DeadIntentRecord, type DeadRecord, type GroupRecord, type RetryRecord } from './records.ts';

export function replayPartition(log: WriteAheadLog, producers: ProducerTable, ids: MessageIdWindow, dedupWindowMs: number, now: number): Map<string, GroupState> {
  let groups = new Map<string, GroupState>();
  const end = log.nextOffset;
  for (let offset = log.startOffset; offset < end; ) {
    const batches = log.read(offset, { maxBytes: 1024 * 1024, upToOffset: end });
    if (batches.length === 0) break;
    for (const b of batches) {
      offset = b.baseOffset + b.recordCount;
      switch (b.type) {
        case RecordType.DATA:
          if (b.baseSequence >= 0) producers.record(b.producerId, b.producerEpoch, b.baseSequence, b.recordCount, b.baseOffset);
          if (dedupWindowMs > 0 && b.timestamp + dedupWindowMs > now) {
            messageSlices(b.payload).forEach((record, i) => {
              const id = decodeMeta(record).id;
              if (id !== undefined) ids.add(id, b.baseOffset + i, b.timestamp);
            });
          }
          break;
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
        case RecordType.CHECKPOINT: {
          const r = decodeControl<CheckpointRecord>(b.payload);
          groups = new Map(Object.entries(r.groups).map(([name, s]) => [name, GroupState.restore(name, s)]));
          producers.restore(r.producers);
          break;
        }
      }
    }
  }
  return groups;
}
