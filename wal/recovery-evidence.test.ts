// Regression tests from the WAL review: what recovery may take as proof that damaged data had been synced.
import { describe, expect, it } from 'vitest';
import { HEADER_BYTES, encodeHeader } from './batch-format.ts';
import { driveSyncs, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

describe('recovery evidence', () => {
  it('refuses, rather than cutting as a torn tail, a log whose middle segment is missing (even the last but one)', async () => {
    const batch = HEADER_BYTES + 36;
    const setup = memoryLogSetup(1, {}, { segmentBytes: 5 * batch, fsync: 'always' });
    const log = await setup.open();
    for (let i = 0; i < 11; i++) await log.append({ recordCount: 1, payload: payloadOf(i, 36), timestamp: i });
    expect(log.segments().map((s) => s.baseOffset)).toEqual([0, 5, 10]);
    await log.close();
    setup.fs.remove('/data/log/00000000000000000005.log');
    setup.fs.remove('/data/log/00000000000000000005.index');
    await expect(setup.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
  });

  it('does not take a frame embedded in a payload for proof that a torn tail was synced', async () => {
    const setup = memoryLogSetup(2, { syncs: 'manual' }, { fsync: 'interval' });
    const log = await driveSyncs(setup.fs, setup.open());
    await driveSyncs(setup.fs, log.append({ recordCount: 1, payload: payloadOf(0, 20), timestamp: 0 }));
    // A payload that holds a well-formed frame claiming a durable end far past the tail.
    const inner = new Uint8Array(HEADER_BYTES + 8);
    encodeHeader(inner.subarray(0, HEADER_BYTES), { type: 0, recordCount: 1, producerId: 0, producerEpoch: 0, baseSequence: -1, timestamp: 0 }, inner.subarray(HEADER_BYTES), 5, 0, 1000);
    const sneaky = new Uint8Array(400);
    sneaky.set(inner, 100);
    log.append({ recordCount: 1, payload: sneaky, timestamp: 0 }).catch(() => {});
    await settle();
    // Tear the unsynced second batch: its first bytes are lost, the embedded frame survives.
    const handle = setup.fs.open('/data/log/00000000000000000000.log', 'readwrite');
    handle.writev([new Uint8Array(16)], HEADER_BYTES + 20);
    handle.close();
    setup.fs.crash('process');
    const reopened = await driveSyncs(setup.fs, setup.open());
    expect(reopened.recovery.truncated).toMatchObject({ kind: 'torn-tail', atOffset: 1 });
    expect(reopened.nextOffset).toBe(1);
    await driveSyncs(setup.fs, reopened.close());
  });
});
