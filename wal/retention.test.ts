import { describe, expect, it } from 'vitest';
import { OffsetOutOfRangeError } from './errors.ts';
import { indexOfPayload, memoryLogSetup, payloadOf } from '../test-support/memory-log.ts';

describe('retention', () => {
  it('deletes only sealed segments wholly below the offset, never the active one', async () => {
    const setup = memoryLogSetup(1, {}, { segmentBytes: 400 });
    const log = await setup.open();
    for (let i = 0; i < 30; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 60), timestamp: 1000 + i });
    const before = log.segments();
    const cut = before[2]!.baseOffset + 1; // inside the third segment
    expect(await log.deleteBefore(cut)).toBe(2);
    expect(log.startOffset).toBe(before[2]!.baseOffset);
    expect(() => log.read(0)).toThrow(OffsetOutOfRangeError);
    expect(indexOfPayload(log.read(log.startOffset)[0]!.payload)).toBe(log.startOffset);
    expect(await log.deleteBefore(Number.MAX_SAFE_INTEGER)).toBe(before.length - 3);
    expect(log.segments()).toHaveLength(1);
    expect(log.segments()[0]!.active).toBe(true);
    await log.close();
  });

  it('stays deleted after a power loss, because the directory was synced', async () => {
    const setup = memoryLogSetup(2, {}, { segmentBytes: 400 });
    const log = await setup.open();
    for (let i = 0; i < 30; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 60), timestamp: i });
    const start = log.segments()[3]!.baseOffset;
    await log.deleteBefore(start);
    setup.fs.crash('power');
    const reopened = await setup.open();
    expect(reopened.startOffset).toBe(start);
    expect(reopened.nextOffset).toBe(30);
    await reopened.close();
  });

  it('reports per-segment max timestamps for time-based retention', async () => {
    const setup = memoryLogSetup(3, {}, { segmentBytes: 300 });
    const log = await setup.open();
    for (let i = 0; i < 12; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 60), timestamp: 5000 + i * 10 });
    const infos = log.segments();
    expect(infos[0]!.maxTimestamp).toBeLessThan(infos[infos.length - 1]!.maxTimestamp);
    await log.close();
    const reopened = await setup.open(); // sealed facts come back from the index files
    expect(reopened.segments().map((s) => s.maxTimestamp)).toEqual(infos.map((s) => s.maxTimestamp));
    await reopened.close();
  });
});
