import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from './batch-format.ts';
import { CorruptSegmentError } from './errors.ts';
import { indexOfPayload, memoryLogSetup, payloadOf } from '../test-support/memory-log.ts';

const SEGMENT0 = '/data/log/00000000000000000000.log';

async function logWith(n: number, seed = 1, segmentBytes = 1 << 20) {
  const setup = memoryLogSetup(seed, {}, { segmentBytes, fsync: 'always' });
  const log = await setup.open();
  for (let i = 0; i < n; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 36), timestamp: i });
  return { setup, log };
}

const BATCH = HEADER_BYTES + 36;

describe('recovery', () => {
  it('truncates a torn tail (a half-written last batch) and reports it', async () => {
    const { setup, log } = await logWith(5);
    await log.close();
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.writev([new Uint8Array(30).fill(0x46)], 5 * BATCH); // a torn sixth batch
    handle.close();
    const reopened = await setup.open();
    expect(reopened.nextOffset).toBe(5);
    expect(reopened.recovery.truncated).toMatchObject({ kind: 'torn-tail', position: 5 * BATCH, droppedBytes: 30, atOffset: 5 });
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(5 * BATCH);
    await reopened.append({ recordCount: 1, payload: payloadOf(5, 36), timestamp: 5 });
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1, 2, 3, 4, 5]);
    await reopened.close();
  });

  it('takes zero-filled space after the last batch for the clean end, not a torn tail (issue 11: the log writes it ahead)', async () => {
    const { setup, log } = await logWith(3);
    await log.close();
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.truncate(3 * BATCH + 4096);
    handle.close();
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(reopened.nextOffset).toBe(3);
    await reopened.close();
  });

  it('refuses to open on mid-log corruption followed by synced data, naming segment and position', async () => {
    const { setup, log } = await logWith(6);
    await log.close();
    setup.fs.flipBit(SEGMENT0, 2 * BATCH + HEADER_BYTES + 3, 1); // payload of batch 2
    const error = await setup.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptSegmentError);
    expect(error).toMatchObject({ code: 'CORRUPT_SEGMENT', details: { segment: SEGMENT0, position: 2 * BATCH, reason: 'crc mismatch' } });
    expect((error as Error).message).toMatch(/repair: true/);
    // The refusal left the directory unlocked and untouched.
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(6 * BATCH);
  });

  it('repairs on request: truncates at the corruption and reports what it dropped', async () => {
    const { setup, log } = await logWith(6);
    await log.close();
    setup.fs.flipBit(SEGMENT0, 2 * BATCH + 20, 0);
    const repaired = await setup.open({ repair: true });
    expect(repaired.recovery.truncated).toMatchObject({ kind: 'repair', position: 2 * BATCH, atOffset: 2, intactBatchesDropped: 3, droppedBytes: 4 * BATCH });
    expect(repaired.nextOffset).toBe(2);
    expect(repaired.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([0, 1]);
    await repaired.close();
  });

  it('never returns a batch of a sealed segment whose bytes were flipped', async () => {
    const { setup, log } = await logWith(20, 2, 5 * BATCH);
    await log.close();
    setup.fs.flipBit(SEGMENT0, BATCH + HEADER_BYTES + 1, 6);
    const reopened = await setup.open(); // sealed + indexed: trusted at open, checked at read
    expect(reopened.read(0, { maxBytes: 1 })).toHaveLength(1);
    expect(() => reopened.read(1)).toThrow(CorruptSegmentError);
    expect(() => reopened.read(0, { maxBytes: 1 << 20 })).toThrow(/corrupt batch in .*00000000000000000000\.log at byte 100/);
    expect(reopened.read(5, { maxBytes: 1 << 20 }).map((b) => b.baseOffset)[0]).toBe(5);
    await reopened.close();
  });

  it('refuses a log with a missing segment in the middle', async () => {
    const { setup, log } = await logWith(20, 3, 5 * BATCH);
    await log.close();
    setup.fs.remove('/data/log/00000000000000000005.log');
    setup.fs.remove('/data/log/00000000000000000005.index');
    await expect(setup.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { reason: expect.stringMatching(/log before it ends at 5/) } });
  });

  it('recovers the same disk to the same state twice', async () => {
    const { setup, log } = await logWith(12, 4, 4 * BATCH);
    log.append({ recordCount: 1, payload: payloadOf(12, 36), timestamp: 12 }).catch(() => {});
    setup.fs.crash('power');
    const first = await setup.open();
    const state1 = { next: first.nextOffset, segs: first.segments(), data: first.read(0, { maxBytes: 1 << 20 }).map((b) => [b.baseOffset, indexOfPayload(b.payload)]) };
    await first.close();
    const second = await setup.open();
    expect({ next: second.nextOffset, segs: second.segments(), data: second.read(0, { maxBytes: 1 << 20 }).map((b) => [b.baseOffset, indexOfPayload(b.payload)]) }).toEqual(state1);
    expect(second.recovery.truncated).toBeUndefined();
    await second.close();
  });
});
