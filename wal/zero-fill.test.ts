// Issue 11: the log writes zeros ahead of its append position, so a sync of appended data does not
// change the file's size (on ext4 that is what makes an fdatasync cheaper).
import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from './batch-format.ts';
import { DiskFullError } from './errors.ts';
import { driveSyncs, indexOfPayload, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

const SEGMENT0 = '/data/log/00000000000000000000.log';
const CHUNK = 16 * 1024;
const BATCH = HEADER_BYTES + 100;

function append(log: Awaited<ReturnType<ReturnType<typeof memoryLogSetup>['open']>>, i: number) {
  return log.append({ recordCount: 1, payload: payloadOf(i, 100), timestamp: i });
}

describe('zero fill ahead of the append position', () => {
  it('does not change the file size, cached or durable, when data is appended and synced within the zeros', async () => {
    const setup = memoryLogSetup(1, { syncs: 'manual' }, { zeroFillBytes: CHUNK, segmentBytes: 1 << 20, fsync: 'always' });
    const log = await driveSyncs(setup.fs, setup.open());
    expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: 0, durable: 0 }); // an empty log reserves nothing
    await driveSyncs(setup.fs, append(log, 0));
    await settle(); // the zeros are written on the next turn...
    expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: CHUNK, durable: BATCH });
    await driveSyncs(setup.fs, append(log, 1)); // ...and the next sync takes them to the disk
    expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: CHUNK, durable: CHUNK });
    for (let i = 2; i < 20; i++) {
      const pending = append(log, i);
      // The write landed in the page cache inside the zeros: the file did not grow.
      expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: CHUNK, durable: CHUNK });
      await driveSyncs(setup.fs, pending);
      expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: CHUNK, durable: CHUNK });
    }
    expect(log.segments()[0]!.sizeBytes).toBe(20 * BATCH);
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([...Array(20).keys()]);
    await driveSyncs(setup.fs, log.close());
  });

  it('grows the file a chunk at a time, half a chunk ahead, never past segmentBytes', async () => {
    const segmentBytes = 300 * BATCH;
    const setup = memoryLogSetup(2, {}, { zeroFillBytes: CHUNK, segmentBytes, fsync: 'always' });
    const log = await setup.open();
    const sizes = new Set<number>();
    for (let i = 0; i < 299; i++) {
      await append(log, i);
      await settle();
      const { cached } = setup.fs.fileSizes(SEGMENT0)!;
      sizes.add(cached);
      expect(cached - log.segments()[0]!.sizeBytes).toBeGreaterThanOrEqual(Math.min(CHUNK / 2, segmentBytes - log.segments()[0]!.sizeBytes));
    }
    expect([...sizes]).toEqual([CHUNK, 2 * CHUNK, 3 * CHUNK, segmentBytes]);
    await log.close();
  });

  it('cuts a segment it seals to its last batch, and the active one when the log closes', async () => {
    const segmentBytes = 20 * BATCH;
    const setup = memoryLogSetup(3, {}, { zeroFillBytes: CHUNK, segmentBytes, fsync: 'always' });
    const log = await setup.open();
    for (let i = 0; i < 25; i++) {
      await append(log, i);
      await settle();
    }
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(20 * BATCH);
    const segment1 = '/data/log/00000000000000000020.log';
    expect(setup.fs.fileSizes(segment1)!.cached).toBe(segmentBytes); // zeros to the segment's limit
    await log.close();
    expect(setup.fs.fileSizes(segment1)!.cached).toBe(5 * BATCH);
    const reopened = await setup.open();
    expect(reopened.recovery).toMatchObject({ scannedSegments: 1, rebuiltIndexes: 0 }); // the sealed one was vouched for
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([...Array(25).keys()]);
    await reopened.close();
  });

  it('keeps working when the disk has no room for the zeros: appends fill what is there, then get DISK_FULL', async () => {
    const setup = memoryLogSetup(4, {}, { zeroFillBytes: CHUNK, segmentBytes: 1 << 20, fsync: 'always' });
    const log = await setup.open();
    setup.fs.faults.capacityBytes = 3 * BATCH + 40; // room for a few batches, not a chunk of zeros
    await append(log, 0);
    await settle();
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(3 * BATCH + 40); // zeros up to what the disk had
    await append(log, 1);
    await append(log, 2);
    const error = await append(log, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskFullError);
    expect(log.failure).toBeUndefined();
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await append(log, 3);
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3]);
    await log.close();
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(reopened.nextOffset).toBe(4);
    await reopened.close();
  });

  it('writes no zeros when it is turned off or under fsync none', async () => {
    for (const overrides of [{ zeroFillBytes: 0 }, { fsync: 'none' as const }]) {
      const setup = memoryLogSetup(5, {}, { segmentBytes: 1 << 20, ...overrides });
      const log = await setup.open();
      await append(log, 0);
      await settle();
      expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(BATCH);
      await log.close();
    }
  });
});

describe('readers of a log with a zero tail', () => {
  it('verifyLog and LogFollower see the zeros as the end of the log, not damage', async () => {
    const { verifyLog } = await import('./verify-log.ts');
    const { LogFollower } = await import('./log-follower.ts');
    const setup = memoryLogSetup(6, {}, { zeroFillBytes: CHUNK, segmentBytes: 1 << 20, fsync: 'always' });
    const log = await setup.open();
    for (let i = 0; i < 3; i++) await append(log, i);
    await settle();
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(CHUNK);
    const check = verifyLog(setup.fs, setup.dir);
    expect(check.problems).toEqual([]);
    expect(check).toMatchObject({ batches: 3, endOffset: 3 });
    const follower = new LogFollower(setup.fs, setup.dir, 'earliest');
    expect(follower.poll().map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2]);
    await append(log, 3);
    expect(follower.poll().map((b) => indexOfPayload(b.payload))).toEqual([3]);
    await log.close();
  });
});

describe('sealing a zero-filled segment', () => {
  it('syncs the cut of a sealed segment before its index is saved, even when the append that rolled it failed (found by the simulator)', async () => {
    const setup = memoryLogSetup(7, { syncs: 'manual' }, { zeroFillBytes: CHUNK, segmentBytes: 5 * BATCH, fsync: 'always' });
    const log = await driveSyncs(setup.fs, setup.open());
    for (let i = 0; i < 3; i++) {
      await driveSyncs(setup.fs, append(log, i));
      await settle();
    }
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(5 * BATCH); // zeros up to the segment's limit
    const fourth = append(log, 3); // its sync is left in flight
    await settle();
    setup.fs.faults.capacityBytes = 0;
    // Rolls (cutting segment 0 to its 4 batches), then finds no room in the new segment.
    await expect(log.append({ recordCount: 1, payload: payloadOf(4, 236), timestamp: 4 })).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(4 * BATCH);
    await driveSyncs(setup.fs, fourth); // covers segment 0: its index may be saved now
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await driveSyncs(setup.fs, append(log, 4));
    expect(log.failure).toBeUndefined();
    await driveSyncs(setup.fs, log.close());
    const reopened = await driveSyncs(setup.fs, setup.open());
    expect(reopened.recovery).toMatchObject({ scannedSegments: 1, rebuiltIndexes: 0 }); // the index vouched for the cut size
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3, 4]);
    await driveSyncs(setup.fs, reopened.close());
    setup.fs.crash('power');
    const afterPowerLoss = await driveSyncs(setup.fs, setup.open());
    expect(afterPowerLoss.recovery.truncated).toBeUndefined();
    expect(afterPowerLoss.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3, 4]);
    await driveSyncs(setup.fs, afterPowerLoss.close());
    await driveSyncs(setup.fs, reopened.close());
  });
});
