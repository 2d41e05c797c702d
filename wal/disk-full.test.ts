import { describe, expect, it } from 'vitest';
import { DiskFullError } from './errors.ts';
import { indexOfPayload, memoryLogSetup, payloadOf } from '../test-support/memory-log.ts';

describe('disk full', () => {
  it('rejects the append with DISK_FULL, leaves no partial batch, and works again once space is back', async () => {
    // Without zero fill, so the append must grow the file (zero-fill.test.ts covers a full disk with it).
    const setup = memoryLogSetup(1, {}, { segmentBytes: 1 << 20, zeroFillBytes: 0 });
    const log = await setup.open();
    for (let i = 0; i < 5; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 100), timestamp: 0 });
    const used = setup.fs.fileSizes('/data/log/00000000000000000000.log')!.cached;
    setup.fs.faults.capacityBytes = used + 80; // room for a partial batch only
    const error = await log.append({ recordCount: 1, payload: payloadOf(5, 100), timestamp: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskFullError);
    expect(error).toMatchObject({ code: 'DISK_FULL', retriable: true });
    expect(log.nextOffset).toBe(5);
    expect(setup.fs.fileSizes('/data/log/00000000000000000000.log')!.cached).toBe(used); // partial write undone
    expect(log.failure).toBeUndefined();
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    expect(await log.append({ recordCount: 1, payload: payloadOf(5, 100), timestamp: 0 })).toEqual({ baseOffset: 5, nextOffset: 6 });
    await log.close();
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3, 4, 5]);
    await reopened.close();
  });

  it('rejects a roll that cannot create the next segment, without losing the log', async () => {
    const setup = memoryLogSetup(2, {}, { segmentBytes: 300 });
    const log = await setup.open();
    await log.append({ recordCount: 1, payload: payloadOf(0, 200), timestamp: 0 });
    setup.fs.faults.capacityBytes = setup.fs.fileSizes('/data/log/00000000000000000000.log')!.cached;
    await expect(log.append({ recordCount: 1, payload: payloadOf(1, 200), timestamp: 0 })).rejects.toMatchObject({ code: 'DISK_FULL' });
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await log.append({ recordCount: 1, payload: payloadOf(1, 200), timestamp: 0 });
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1]);
    await log.close();
  });

  it('survives short writes by finishing them', async () => {
    const setup = memoryLogSetup(3, { faults: { shortWrite: 0.7 } });
    const log = await setup.open();
    for (let i = 0; i < 50; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 300), timestamp: 0 });
    expect(setup.fs.stats.shortWrites).toBeGreaterThan(10);
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([...Array(50).keys()]);
    await log.close();
  });
});
