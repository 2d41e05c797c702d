import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, LogClosedError, OffsetOutOfRangeError, OverloadedError } from './errors.ts';
import { WriteAheadLog } from './log.ts';
import { driveSyncs, indexOfPayload, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

describe('log API', () => {
  it('rejects bad batches with INVALID_ARGUMENT and writes nothing', async () => {
    const setup = memoryLogSetup(1, {}, { maxBatchBytes: 1000 });
    const log = await setup.open();
    const bad = [
      { recordCount: 0, payload: payloadOf(0), timestamp: 0 },
      { recordCount: 1.5, payload: payloadOf(0), timestamp: 0 },
      { recordCount: 1, payload: 'text' as unknown as Uint8Array, timestamp: 0 },
      { recordCount: 1, payload: new Uint8Array(2000), timestamp: 0 },
      { recordCount: 1, payload: payloadOf(0), timestamp: -1 },
      { recordCount: 1, payload: payloadOf(0), timestamp: 0, type: 256 },
      { recordCount: 1, payload: payloadOf(0), timestamp: 0, baseSequence: -2 },
    ];
    for (const input of bad) await expect(log.append(input)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(log.nextOffset).toBe(0);
    await log.close();
  });

  it('validates options once, with messages that name the option', async () => {
    const setup = memoryLogSetup();
    await expect(WriteAheadLog.open({ dir: '/x', fs: setup.fs, clock: setup.clock, segmentBytes: 0 })).rejects.toThrow(/options.segmentBytes/);
    await expect(WriteAheadLog.open({ dir: '/x', fs: setup.fs, clock: setup.clock, fsync: 'sometimes' as never })).rejects.toThrow(/options.fsync/);
    await expect(WriteAheadLog.open({ dir: '', fs: setup.fs, clock: setup.clock })).rejects.toThrow(/options.dir/);
  });

  it('refuses appends past maxPendingAppends with a retriable OVERLOADED, and accepts them again after', async () => {
    const setup = memoryLogSetup(2, { syncs: 'manual' }, { maxPendingAppends: 3 });
    const log = await driveSyncs(setup.fs, setup.open());
    const ok = [0, 1, 2].map((i) => log.append({ recordCount: 1, payload: payloadOf(i), timestamp: 0 }));
    expect(log.saturated).toBe(true);
    await expect(log.append({ recordCount: 1, payload: payloadOf(3), timestamp: 0 })).rejects.toBeInstanceOf(OverloadedError);
    expect(log.nextOffset).toBe(3); // the refused batch was not written
    await driveSyncs(setup.fs, Promise.all(ok));
    expect(log.saturated).toBe(false);
    await driveSyncs(setup.fs, log.append({ recordCount: 1, payload: payloadOf(3), timestamp: 0 }));
    await driveSyncs(setup.fs, log.close());
  });

  it('rejects reads outside the log with OFFSET_OUT_OF_RANGE and hides unconfirmed batches', async () => {
    const setup = memoryLogSetup(3, { syncs: 'manual' });
    const log = await driveSyncs(setup.fs, setup.open());
    await driveSyncs(setup.fs, log.append({ recordCount: 2, payload: payloadOf(0), timestamp: 0 }));
    const pending = log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 });
    await settle();
    expect(log.read(0).map((b) => b.baseOffset)).toEqual([0]); // offset 2 is written, not yet synced
    expect(log.read(0, { upToOffset: log.nextOffset }).map((b) => b.baseOffset)).toEqual([0, 2]);
    expect(() => log.read(4)).toThrow(OffsetOutOfRangeError);
    expect(() => log.read(-1)).toThrow(OffsetOutOfRangeError);
    await driveSyncs(setup.fs, pending);
    await driveSyncs(setup.fs, log.close());
  });

  it('after close: appends and reads fail with LOG_CLOSED, a second close is harmless', async () => {
    const setup = memoryLogSetup(4);
    const log = await setup.open();
    await log.close();
    await log.close();
    await expect(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 })).rejects.toBeInstanceOf(LogClosedError);
    expect(() => log.read(0)).toThrow(LogClosedError);
  });

  it('refuses a second open of the same directory while the first is open', async () => {
    const setup = memoryLogSetup(5);
    const log = await setup.open();
    await expect(setup.open()).rejects.toMatchObject({ code: 'LOCKED' });
    await log.close();
    await (await setup.open()).close();
  });
});

describe('appendMany', () => {
  it('appends several batches in one write, chained and indexed like single appends', async () => {
    const setup = memoryLogSetup(7, {}, { segmentBytes: 1 << 20, indexIntervalBytes: 64 });
    const log = await setup.open();
    await log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 1 });
    const inputs = [1, 2, 3].map((i) => ({ recordCount: i, payload: payloadOf(i, i === 2 ? 20_000 : 30), timestamp: 1 + i }));
    expect(await log.appendMany(inputs)).toEqual([{ baseOffset: 1, nextOffset: 2 }, { baseOffset: 2, nextOffset: 4 }, { baseOffset: 4, nextOffset: 7 }]);
    await log.append({ recordCount: 1, payload: payloadOf(4), timestamp: 9 });
    await log.close();
    const reopened = await setup.open(); // recovery verifies every CRC and the chain
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => [b.baseOffset, indexOfPayload(b.payload), b.payload.length])).toEqual([[0, 0, 20], [1, 1, 30], [2, 2, 20_000], [4, 3, 30], [7, 4, 20]]);
    for (const from of [3, 5, 6]) expect(reopened.read(from, { maxBytes: 1 })[0]!.baseOffset).toBe(from === 3 ? 2 : 4);
    await reopened.close();
  });

  it('is all or nothing: a full disk leaves none of the batches behind', async () => {
    const setup = memoryLogSetup(8, {}, { zeroFillBytes: 0 }); // the batches must grow the file
    const log = await setup.open();
    await log.append({ recordCount: 1, payload: payloadOf(0, 100), timestamp: 0 });
    setup.fs.faults.capacityBytes = setup.fs.fileSizes('/data/log/00000000000000000000.log')!.cached + 300;
    await expect(log.appendMany([1, 2, 3].map((i) => ({ recordCount: 1, payload: payloadOf(i, 100), timestamp: 0 })))).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(log.nextOffset).toBe(1);
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await log.appendMany([1, 2].map((i) => ({ recordCount: 1, payload: payloadOf(i, 100), timestamp: 0 })));
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2]);
    await log.close();
  });
});
