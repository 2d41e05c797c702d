// WriteAheadLog.walk (issue 11, recovery): every header, only the payloads asked for, each of those
// CRC-checked; a header out of sequence is reported, never followed.
import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from './batch-format.ts';
import { CorruptSegmentError, InvalidArgumentError } from './errors.ts';
import { indexOfPayload, memoryLogSetup, payloadOf } from '../test-support/memory-log.ts';

const SEGMENT0 = '/data/log/00000000000000000000.log';
const BATCH = HEADER_BYTES + 36;

async function logWith(n: number, segmentBytes = 1 << 20) {
  const setup = memoryLogSetup(4, {}, { segmentBytes, fsync: 'always' });
  const log = await setup.open();
  for (let i = 0; i < n; i++) await log.append({ recordCount: 1 + (i % 2), payload: payloadOf(i, 36), timestamp: i, type: i % 3, flags: i });
  return { setup, log };
}

function walked(log: Awaited<ReturnType<typeof logWith>>['log'], from: number, to: number, want: (type: number) => boolean) {
  const out: { offset: number; type: number; flags: number; payload: number | undefined }[] = [];
  log.walk(from, to, (h) => want(h.type), (h, payload) => out.push({ offset: h.baseOffset, type: h.type, flags: h.flags, payload: payload && indexOfPayload(payload) }));
  return out;
}

describe('log walk', () => {
  it('visits every header in the range, across segments, with the payloads asked for and the flags stored', async () => {
    const { log } = await logWith(30, 5 * BATCH);
    expect(log.segments().length).toBeGreaterThan(4);
    const all = walked(log, 0, log.nextOffset, (type) => type === 2);
    expect(all.map((b) => b.offset)).toEqual(log.read(0, { maxBytes: 1 << 20, upToOffset: log.nextOffset }).map((b) => b.baseOffset));
    expect(all.map((b) => b.flags)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(all.filter((b) => b.payload !== undefined).map((b) => b.payload)).toEqual(all.filter((b) => b.type === 2).map((b) => b.flags));
    // From inside a batch of two records to an offset mid-log: the batches holding those offsets.
    const some = walked(log, 4, 10, () => true);
    expect(some.map((b) => b.offset)).toEqual(log.read(4, { maxBytes: 1 << 20, upToOffset: 10 }).map((b) => b.baseOffset));
    await log.close();
  });

  it('hands out payload views that stay valid after the walk reads on (a decoded record may keep them)', async () => {
    const { log } = await logWith(300);
    const kept: Uint8Array[] = [];
    log.walk(0, log.nextOffset, () => true, (_, payload) => kept.push(payload!));
    expect(kept.map((p) => indexOfPayload(p))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await log.close();
  });

  it('checks the CRC of a payload it reads, and walks past damage to one it does not', async () => {
    const { setup, log } = await logWith(6);
    setup.fs.flipBit(SEGMENT0, 2 * BATCH + HEADER_BYTES + 3, 1); // the payload of batch 2 (type 2)
    expect(walked(log, 0, log.nextOffset, () => false)).toHaveLength(6);
    expect(() => walked(log, 0, log.nextOffset, (type) => type === 2)).toThrow(expect.objectContaining({ code: 'CORRUPT_SEGMENT', details: expect.objectContaining({ position: 2 * BATCH, reason: 'crc mismatch' }) }));
    await log.close();
  });

  it('reports a header out of sequence instead of following it', async () => {
    const { setup, log } = await logWith(6);
    setup.fs.flipBit(SEGMENT0, 3 * BATCH + 24, 2); // batch 3's record count
    expect(() => walked(log, 0, log.nextOffset, () => false)).toThrow(CorruptSegmentError);
    await log.close();
  });

  it("lets the caller's own errors through unchanged", async () => {
    const { log } = await logWith(3);
    const mine = new Error('mine');
    expect(() =>
      log.walk(0, 3, () => false, () => {
        throw mine;
      }),
    ).toThrow(mine);
    await log.close();
  });

  it('refuses flags outside 16 bits', async () => {
    const { log } = await logWith(0);
    await expect(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0, flags: 0x10000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0, flags: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await log.close();
  });
});
