import { describe, expect, it } from 'vitest';
import { FsyncFailedError } from './errors.ts';
import { driveSyncs, indexOfPayload, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';

describe('fsync failure', () => {
  it('is fatal: pending and later appends reject, nothing is confirmed after it, reopening recovers', async () => {
    const setup = memoryLogSetup(1, { syncs: 'manual' }, { fsync: 'interval' });
    const log = await driveSyncs(setup.fs, setup.open());
    await driveSyncs(setup.fs, log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    const pending = [1, 2, 3].map((i) => log.append({ recordCount: 1, payload: payloadOf(i), timestamp: 0 }));
    await settle();
    setup.fs.failNextSyncs(1);
    setup.fs.releaseSyncs();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(FsyncFailedError);
    await expect(log.append({ recordCount: 1, payload: payloadOf(4), timestamp: 0 })).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    await expect(log.sync()).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    expect(log.syncedEnd).toBe(1);
    expect(log.failure?.message).toMatch(/reopen the log/);
    // The failed sync marked the pages clean without writing them (as Linux does): a later
    // successful sync must not be taken as covering them. The log never syncs again, so a
    // power loss keeps only what was confirmed.
    await driveSyncs(setup.fs, log.close());
    setup.fs.crash('power');
    const reopened = await driveSyncs(setup.fs, setup.open());
    const kept = reopened.read(0, { maxBytes: 1 << 20 }).map((b) => indexOfPayload(b.payload));
    expect(kept[0]).toBe(0);
    expect(kept.every((v, i) => v === i)).toBe(true); // a prefix, never a gap
    await driveSyncs(setup.fs, reopened.append({ recordCount: 1, payload: payloadOf(9), timestamp: 0 }));
    await driveSyncs(setup.fs, reopened.close());
  });

  it('under always, a failed sync rejects its append and all after it', async () => {
    const setup = memoryLogSetup(2, {}, { fsync: 'always' });
    const log = await setup.open();
    setup.fs.failNextSyncs(1);
    await expect(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 })).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    await expect(log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 })).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    await log.close();
  });

  it('a failed directory sync while opening is a typed IO_ERROR (was a raw EIO), and a retry can open', async () => {
    const setup = memoryLogSetup(3, {}, {});
    setup.fs.failNextSyncs(1);
    await expect(setup.open()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const log = await setup.open(); // the lock was released
    await log.close();
  });
});
