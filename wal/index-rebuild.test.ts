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

  it('is ignored when it describes a different file size (stale)', async () => {
    const { setup, indexes } = await filledLog(3);
    const handle = setup.fs.open(`${setup.dir}/${indexes[0]!.replace('.index', '.log')}`, 'readwrite');
    handle.truncate(handle.size() - 10); // the segment no longer matches its index
    handle.close();
    await expect(setup.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' }); // synced data follows: refuse
  });
});
