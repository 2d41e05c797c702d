// Issue 11: recovery of the zeros the log writes ahead of its append position. Zeros from the last
// valid batch to the end of the file are the clean end; a torn batch before them is a torn tail;
// zeros with valid batches after them are damage, refused as any other.
import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from './batch-format.ts';
import { CorruptSegmentError } from './errors.ts';
import { indexOfPayload, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

const SEGMENT0 = '/data/log/00000000000000000000.log';
const CHUNK = 16 * 1024;
const BATCH = HEADER_BYTES + 36;

async function zeroFilledLog(n: number, seed: number, segmentBytes = 1 << 20) {
  const setup = memoryLogSetup(seed, {}, { zeroFillBytes: CHUNK, segmentBytes, fsync: 'always' });
  const log = await setup.open();
  for (let i = 0; i < n; i++) {
    await log.append({ recordCount: 1, payload: payloadOf(i, 36), timestamp: i });
    await settle(); // lets the zero fill run
  }
  return { setup, log };
}

function contents(log: { read(from: number, options: { maxBytes: number }): { payload: Uint8Array }[] }): number[] {
  return log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload));
}

describe('recovery of a zero tail', () => {
  it('opens a crashed log whose active segment ends in zeros as clean, and appends into the zeros', async () => {
    for (const crash of ['process', 'power'] as const) {
      const { setup, log } = await zeroFilledLog(5, 1);
      await log.sync();
      expect(setup.fs.fileSizes(SEGMENT0)).toEqual({ cached: CHUNK, durable: CHUNK });
      setup.fs.crash(crash);
      const reopened = await setup.open();
      expect(reopened.recovery.truncated).toBeUndefined();
      expect(reopened.nextOffset).toBe(5);
      expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(CHUNK); // the zeros are kept for appends
      await reopened.append({ recordCount: 1, payload: payloadOf(5, 36), timestamp: 5 });
      expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(CHUNK);
      expect(contents(reopened)).toEqual([0, 1, 2, 3, 4, 5]);
      await reopened.close();
    }
  });

  it('cuts a torn write followed by zeros as a torn tail, counting only the torn bytes as dropped', async () => {
    const { setup, log } = await zeroFilledLog(5, 2);
    await log.sync();
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.writev([new Uint8Array(30).fill(0x46)], 5 * BATCH); // a torn sixth batch, inside the zeros
    handle.close();
    setup.fs.crash('process');
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toMatchObject({ kind: 'torn-tail', position: 5 * BATCH, droppedBytes: 30, atOffset: 5 });
    expect(reopened.nextOffset).toBe(5);
    await reopened.append({ recordCount: 1, payload: payloadOf(5, 36), timestamp: 5 });
    expect(contents(reopened)).toEqual([0, 1, 2, 3, 4, 5]);
    await reopened.close();
  });

  it('cuts a torn write whose first bytes were lost (zeros, then the rest of the batch, then zeros)', async () => {
    const { setup, log } = await zeroFilledLog(5, 3);
    await log.append({ recordCount: 1, payload: payloadOf(5, 300), timestamp: 5 });
    await log.sync();
    // The sixth batch's first sector never reached the disk: zeros where its header should be.
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.writev([new Uint8Array(HEADER_BYTES)], 5 * BATCH);
    handle.close();
    setup.fs.crash('process');
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toMatchObject({ kind: 'torn-tail', position: 5 * BATCH, reason: 'bad magic', atOffset: 5 });
    expect(contents(reopened)).toEqual([0, 1, 2, 3, 4]);
    await reopened.close();
  });

  it('refuses zeros followed by valid synced batches: confirmed data would be lost', async () => {
    const { setup, log } = await zeroFilledLog(6, 4);
    await log.sync();
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.writev([new Uint8Array(BATCH)], 2 * BATCH); // batch 2 zeroed out: batches 3..5 follow
    handle.close();
    setup.fs.crash('process');
    const error = await setup.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptSegmentError);
    expect(error).toMatchObject({ details: { segment: SEGMENT0, position: 2 * BATCH, reason: 'bad magic' } });
  });

  it('opens a sealed segment that still ends in zeros (a crash between its roll and the truncate that seals it)', async () => {
    const { setup, log } = await zeroFilledLog(8, 5, 5 * BATCH);
    expect(log.segments().map((s) => s.baseOffset)).toEqual([0, 5]);
    await log.close();
    // What a crash may leave: the truncate and the index file never reached the disk.
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.truncate(CHUNK);
    handle.close();
    setup.fs.remove('/data/log/00000000000000000000.index');
    const reopened = await setup.open();
    expect(reopened.recovery).toMatchObject({ scannedSegments: 2, rebuiltIndexes: 1 });
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(setup.fs.fileSizes(SEGMENT0)!.cached).toBe(5 * BATCH); // sealed as the roll meant to
    expect(contents(reopened)).toEqual([...Array(8).keys()]);
    await reopened.close();
    const again = await setup.open();
    expect(again.recovery).toMatchObject({ scannedSegments: 1, rebuiltIndexes: 0 }); // its index now vouches for it
    await again.close();
  });

  it('opens a sealed segment whose zero tail outlived an index that vouched for its cut size', async () => {
    const { setup, log } = await zeroFilledLog(8, 6, 5 * BATCH);
    await log.close();
    const handle = setup.fs.open(SEGMENT0, 'readwrite');
    handle.truncate(CHUNK); // the index file says 5 batches' bytes: it no longer vouches
    handle.close();
    const reopened = await setup.open();
    expect(reopened.recovery.truncated).toBeUndefined();
    expect(contents(reopened)).toEqual([...Array(8).keys()]);
    await reopened.close();
  });
});
