import { describe, expect, it } from 'vitest';
import { indexOfPayload, memoryLogSetup, payloadOf } from '../test-support/memory-log.ts';

async function filledLog(seed: number) {
  const setup = memoryLogSetup(seed, {}, { segmentBytes: 1000, indexIntervalBytes: 150 });
  const log = await setup.open();
  for (let i = 0; i < 60; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 40), timestamp: i });
  await log.close();
  const indexes = setup.fs.list(setup.dir).filter((n) => n.endsWith('.index')).sort();
  return { setup, indexes };
}

describe('sparse index', () => {
  it('is rebuilt when an index file is missing', async () => {
    const { setup, indexes } = await filledLog(1);
    expect(indexes.length).toBeGreaterThan(2);
    setup.fs.remove(`${setup.dir}/${indexes[1]}`);
    const log = await setup.open();
    expect(log.recovery.rebuiltIndexes).toBeGreaterThanOrEqual(1);
    expect(setup.fs.list(setup.dir).filter((n) => n.endsWith('.index')).length).toBe(indexes.length);
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([...Array(60).keys()]);
    await log.close();
  });

  it('is rebuilt when an index file is damaged, and never misleads a read', async () => {
    const { setup, indexes } = await filledLog(2);
    setup.fs.flipBit(`${setup.dir}/${indexes[0]}`, 45, 3);
    const log = await setup.open();
    expect(log.recovery.rebuiltIndexes).toBeGreaterThanOrEqual(1);
    for (let from = 0; from < 60; from += 7) expect(log.read(from, { maxBytes: 1 })[0]!.baseOffset).toBe(from);
    await log.close();
  });

  it('survives a power loss once saved: its directory entry is synced too (issue: saveIndex never synced the directory)', async () => {
    const { setup, indexes } = await filledLog(4); // close() waits for every index save
    setup.fs.crash('power');
    expect(setup.fs.list(setup.dir).filter((n) => n.endsWith('.index')).sort()).toEqual(indexes);
    const log = await setup.open();
    expect(log.recovery.rebuiltIndexes).toBe(0);
    expect(log.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload))).toEqual([...Array(60).keys()]);
    await log.close();
  });

  it('leaves no temp file behind: one a crash left mid-save is removed at the next open', async () => {
    const { setup, indexes } = await filledLog(5);
    const stray = `${setup.dir}/${indexes[1]}.tmp`; // a crash between writing the temp file and renaming it
    const handle = setup.fs.open(stray, 'create');
    handle.writev([new Uint8Array([1, 2, 3])], 0);
    handle.close();
    const log = await setup.open();
    expect(setup.fs.list(setup.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(log.recovery.rebuiltIndexes).toBe(0);
    await log.close();
  });

  it('is ignored when it describes a different file size (stale)', async () => {
    const { setup, indexes } = await filledLog(3);
    const handle = setup.fs.open(`${setup.dir}/${indexes[0]!.replace('.index', '.log')}`, 'readwrite');
    handle.truncate(handle.size() - 10); // the segment no longer matches its index
    handle.close();
    await expect(setup.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' }); // synced data follows: refuse
  });
});
