import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from './batch-format.ts';
import { driveSyncs, indexOfPayload, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

describe('segment roll', () => {
  it('rolls when the next batch would pass segmentBytes, naming files by 20-digit base offset', async () => {
    const setup = memoryLogSetup(1, {}, { segmentBytes: 4 * (HEADER_BYTES + 36) });
    const log = await setup.open();
    for (let i = 0; i < 10; i++) await log.append({ recordCount: 3, payload: payloadOf(i, 36), timestamp: 1000 + i });
    const infos = log.segments();
    expect(infos.map((s) => s.baseOffset)).toEqual([0, 12, 24]);
    expect(infos.map((s) => s.endOffset)).toEqual([12, 24, 30]);
    expect(infos.every((s) => s.sizeBytes <= 4 * (HEADER_BYTES + 36))).toBe(true);
    expect(setup.fs.list(setup.dir).filter((n) => n.endsWith('.log')).sort()).toEqual(['00000000000000000000.log', '00000000000000000012.log', '00000000000000000024.log']);
    await log.close();
  });

  it('reads across segment boundaries in order, from any offset inside a batch', async () => {
    const setup = memoryLogSetup(2, {}, { segmentBytes: 300, indexIntervalBytes: 100 });
    const log = await setup.open();
    for (let i = 0; i < 40; i++) await log.append({ recordCount: 2, payload: payloadOf(i, 30), timestamp: i });
    const all = log.read(0, { maxBytes: 1 << 20 });
    expect(all.map((b) => indexOfPayload(b.payload))).toEqual([...Array(40).keys()]);
    expect(all.map((b) => b.baseOffset)).toEqual([...Array(40).keys()].map((i) => i * 2));
    for (const from of [1, 17, 38, 79]) expect(log.read(from, { maxBytes: 1 })[0]!.baseOffset).toBe(from - (from % 2));
    expect(log.read(80)).toEqual([]);
    await log.close();
  });

  it('rolls before offsets within a segment would outgrow 32 bits, so its index stays exact', async () => {
    const setup = memoryLogSetup(5);
    const log = await setup.open();
    const big = 2 ** 31 - 1;
    for (let i = 0; i < 5; i++) await log.append({ recordCount: big, payload: payloadOf(i), timestamp: 0 });
    expect(log.segments().every((s) => s.endOffset - s.baseOffset <= 2 ** 32)).toBe(true);
    await log.close();
    const reopened = await setup.open();
    expect(reopened.read(3 * big, { maxBytes: 1 })[0]!.baseOffset).toBe(3 * big);
    await reopened.close();
  });

  it('gives an oversized batch a segment of its own rather than refusing it', async () => {
    const setup = memoryLogSetup(3, {}, { segmentBytes: 200 });
    const log = await setup.open();
    await log.append({ recordCount: 1, payload: payloadOf(0, 10), timestamp: 0 });
    await log.append({ recordCount: 1, payload: payloadOf(1, 500), timestamp: 0 });
    await log.append({ recordCount: 1, payload: payloadOf(2, 10), timestamp: 0 });
    expect(log.segments().map((s) => s.baseOffset)).toEqual([0, 1, 2]);
    await log.close();
  });

  it('saves the index of a sealed segment only after a sync covered it, and reopens without rescanning', async () => {
    const setup = memoryLogSetup(4, { syncs: 'manual' }, { segmentBytes: 200 });
    const log = await driveSyncs(setup.fs, setup.open());
    const pending = [0, 1, 2, 3].map((i) => log.append({ recordCount: 1, payload: payloadOf(i, 80), timestamp: 0 }));
    await settle();
    expect(log.segments().length).toBe(4); // 144-byte batches, 200-byte segments
    expect(setup.fs.list(setup.dir).some((n) => n.endsWith('.index'))).toBe(false); // nothing synced yet
    await driveSyncs(setup.fs, Promise.all(pending));
    await driveSyncs(setup.fs, log.close());
    expect(setup.fs.list(setup.dir).filter((n) => n.endsWith('.index')).length).toBe(log.segments().length - 1);
    const reopened = await driveSyncs(setup.fs, setup.open());
    expect(reopened.recovery.scannedSegments).toBe(1); // only the active one
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3]);
    await driveSyncs(setup.fs, reopened.close());
  });
});
