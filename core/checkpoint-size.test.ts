// Checkpoints of any size (issue 9): a checkpoint larger than the log's batch limit is written in
// parts and used whole; a failed one is reported and retried, never swallowed; an idle partition
// does not write the same checkpoint again. One partition actor on the memory disk, manual clock.
import { describe, expect, it } from 'vitest';
import { DiskFullError, ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeControl, encodeMessage, frameMessages } from './codec.ts';
import { PartitionActor } from './partition-actor.ts';
import { RecordType } from './records.ts';
import { CheckpointFailedError, CorruptStateError, UnknownFormatVersionError } from './state-errors.ts';
import { resolveTopicOptions } from './topic-options.ts';

const MAX_BATCH_BYTES = 16 * 1024 * 1024; // the engine's partition logs (core/local-runtime.ts)

// Without zero fill: these tests give the disk room for some records and not others, which only
// holds while each record grows the file (zero fill would have reserved the space ahead).
function setup(checkpointEveryRecords = 1_000_000) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(1) });
  const clock = new ManualClock(1_000_000);
  const options = resolveTopicOptions('t', { dedupWindowMs: 0 });
  const limits = { maxUnsettledPerGroup: 20_000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, maxGroups: 10, checkpointEveryRecords };
  return {
    fs,
    clock,
    async open() {
      const log = await WriteAheadLog.open({ dir: '/p', fs, clock, segmentBytes: 256 * 1024, maxBatchBytes: MAX_BATCH_BYTES, zeroFillBytes: 0 });
      return { log, actor: PartitionActor.open({ topic: 't', partition: 0, options, clock, random: new SeededRandom(2), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 }) };
    },
  };
}

const batch = (from: number, count: number, bytes: number) => ({ payload: frameMessages(Array.from({ length: count }, (_, i) => encodeMessage({ value: `m${from + i}`.padEnd(bytes) }, 0, 1 << 20))), count });

async function publish(actor: PartitionActor, count: number, bytes = 10): Promise<void> {
  for (let i = 0; i < count; i += 1000) await actor.publish(batch(i, Math.min(1000, count - i), bytes));
}

describe('checkpoint size', () => {
  it('writes a checkpoint of 10,000 pending messages with 4 KiB errors (past the batch limit), deletes settled segments, and replays from it', async () => {
    const s = setup();
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    // Settled messages first: the segments retention may delete.
    await publish(actor, 5000, 200);
    await Promise.all((await actor.fetch({ group: 'g', consumerId: 'c', max: 5000, waitMs: 0 })).map((m) => actor.ack('g', m.offset, m.token)));
    // Then 10,000 that failed once with a 4 KiB error each and wait for a retry far away.
    await publish(actor, 10_000);
    const held = await actor.fetch({ group: 'g', consumerId: 'c', max: 10_000, waitMs: 0 });
    expect(held).toHaveLength(10_000);
    await Promise.all(held.map((m) => actor.nack('g', m.offset, m.token, { delayMs: 1e9, error: `${m.offset}:`.padEnd(4096, 'e') })));
    const state = actor.describe().state;
    expect(encodeControl(state).length).toBeGreaterThan(2 * MAX_BATCH_BYTES);

    const deleted = await actor.retain();
    expect(actor.lastCheckpointError).toBeUndefined();
    expect(deleted).toBeGreaterThan(0);
    const checkpointAt = actor.checkpointOffset!;
    expect(checkpointAt).toBeGreaterThan(15_000); // after the RETRY records, which replay need not read
    const start = log.startOffset;
    expect(start).toBeGreaterThan(0);

    actor.close();
    await log.close();
    ({ log, actor } = await s.open());
    expect(actor.describe().state).toEqual(state); // every pending message, with its error
    expect(actor.checkpointOffset).toBe(checkpointAt);
    actor.close();
    await log.close();

    // Replay reads nothing before the checkpoint: not the 10,000 RETRY records, not the messages.
    let lowestRead = Number.POSITIVE_INFINITY;
    log = await WriteAheadLog.open({ dir: '/p', fs: s.fs, clock: s.clock, segmentBytes: 256 * 1024, maxBatchBytes: MAX_BATCH_BYTES, zeroFillBytes: 0 });
    const read = log.read.bind(log);
    log.read = (from, options) => {
      lowestRead = Math.min(lowestRead, from);
      return read(from, options);
    };
    actor = PartitionActor.open({ topic: 't', partition: 0, options: resolveTopicOptions('t', { dedupWindowMs: 0 }), clock: s.clock, random: new SeededRandom(2), log, limits: { maxUnsettledPerGroup: 20_000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, maxGroups: 10, checkpointEveryRecords: 1_000_000 }, maxMessageBytes: 1 << 20, incarnation: 1 });
    expect(lowestRead).toBeGreaterThanOrEqual(checkpointAt);
    actor.close();
    await log.close();
  }, 60_000);

  it('reports a checkpoint that could not be written (lastCheckpointError), deletes nothing, and the next retain retries it', async () => {
    const s = setup(50);
    const { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    await publish(actor, 10);
    const got = await actor.fetch({ group: 'g', consumerId: 'c', max: 10, waitMs: 0 });
    // Room for the RETRY records, not for a checkpoint of them.
    const error = 'x'.repeat(2000);
    s.fs.faults.capacityBytes = usedBytes(s.fs) + 10 * 2200;
    for (const m of got) await actor.nack('g', m.offset, m.token, { delayMs: 1e9, error });
    const failed = await actor.retain().catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(CheckpointFailedError);
    expect(actor.lastCheckpointError).toBe(failed);
    expect(actor.lastCheckpointError?.cause).toBeInstanceOf(DiskFullError);
    expect(log.failure).toBeUndefined(); // the partition goes on
    s.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await actor.retain();
    expect(actor.lastCheckpointError).toBeUndefined();
    expect(actor.checkpointOffset).toBeDefined();
    actor.close();
    await log.close();
  });

  it('a failed checkpoint started by the record count is kept, not swallowed', async () => {
    const s = setup(3);
    const { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none'); // record 1
    await publish(actor, 1); // record 2
    const [m] = await actor.fetch({ group: 'g', consumerId: 'c', max: 1, waitMs: 0 });
    // Room for the RETRY record (record 3, which starts a checkpoint), not for the checkpoint too.
    s.fs.faults.capacityBytes = usedBytes(s.fs) + 4096 + 300;
    await actor.nack('g', m!.offset, m!.token, { delayMs: 1e9, error: 'y'.repeat(4096) });
    await new Promise((r) => setImmediate(r));
    expect(actor.lastCheckpointError).toBeInstanceOf(CheckpointFailedError);
    s.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await actor.retain();
    expect(actor.lastCheckpointError).toBeUndefined();
    actor.close();
    await log.close();
  });

  it('an idle partition does not write the same checkpoint again, also after a restart', async () => {
    const s = setup();
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    await publish(actor, 10);
    await actor.retain();
    const after = log.nextOffset;
    await actor.retain();
    await actor.retain();
    expect(log.nextOffset).toBe(after);
    actor.close();
    await log.close();
    ({ log, actor } = await s.open());
    await actor.retain();
    expect(log.nextOffset).toBe(after);
    await publish(actor, 1); // a change: the next one is written
    await actor.retain();
    expect(log.nextOffset).toBeGreaterThan(after + 1);
    actor.close();
    await log.close();
  });
});

describe('checkpoint format', () => {
  it('refuses a checkpoint of an unknown format version with a typed error', async () => {
    const s = setup();
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    await actor.retain();
    actor.close();
    await log.append({ type: RecordType.CHECKPOINT_PART, recordCount: 1, payload: encodeControl({ v: 3, i: 0, n: 1, b: new Uint8Array(4) }), timestamp: 1 });
    await log.append({ type: RecordType.CHECKPOINT, recordCount: 1, payload: encodeControl({ v: 3, n: 1 }), timestamp: 1 });
    await log.close();
    const error = await s.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownFormatVersionError);
    expect(error).toMatchObject({ code: 'UNKNOWN_FORMAT_VERSION', details: { version: '3', known: 2 } });
  });

  it('never uses parts that lack their final record (a crash mid-checkpoint), nor a final whose parts are not there', async () => {
    const s = setup();
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    await publish(actor, 3);
    await actor.retain();
    const checkpointAt = actor.checkpointOffset;
    const state = actor.describe().state;
    actor.close();
    // What a crash between the parts and the final record leaves behind: parts alone.
    await log.append({ type: RecordType.CHECKPOINT_PART, recordCount: 1, payload: encodeControl({ v: 2, i: 0, n: 2, b: encodeControl({ groups: {}, producers: [] }) }), timestamp: 1 });
    await log.close();
    ({ log, actor } = await s.open());
    expect(actor.checkpointOffset).toBe(checkpointAt);
    expect(actor.describe().state).toEqual(state);
    actor.close();
    // A final record naming three parts where only the last of the three records before it is one: refused, typed.
    await log.append({ type: RecordType.CHECKPOINT, recordCount: 1, payload: encodeControl({ v: 2, n: 3 }), timestamp: 1 });
    await log.close();
    expect(await s.open().catch((e: unknown) => e)).toBeInstanceOf(CorruptStateError);
  });

  it('reads a version 1 checkpoint (one inline record, as written before versions)', async () => {
    const s = setup();
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    await publish(actor, 3);
    const state = actor.describe().state;
    actor.close();
    await log.append({ type: RecordType.CHECKPOINT, recordCount: 1, payload: encodeControl(state), timestamp: 1 });
    await log.close();
    ({ log, actor } = await s.open());
    expect(actor.checkpointOffset).toBe(log.nextOffset - 1);
    expect(actor.describe().state).toEqual(state);
    actor.close();
    await log.close();
  });
});

function usedBytes(fs: MemoryFileSystem): number {
  const capacity = fs.faults.capacityBytes;
  fs.faults.capacityBytes = 0;
  const used = -fs.freeBytes();
  fs.faults.capacityBytes = capacity;
  return used;
}
