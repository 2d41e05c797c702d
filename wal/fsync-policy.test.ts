import { describe, expect, it } from 'vitest';
import { driveSyncs, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';
import { realClock } from './index.ts';

function track<T>(promise: Promise<T>): { done: boolean; promise: Promise<T> } {
  const state = { done: false, promise };
  promise.then(() => { state.done = true; }, () => { state.done = true; });
  return state;
}

async function manualLog(fsync: 'always' | 'interval' | 'none', extra = {}) {
  const setup = memoryLogSetup(1, { syncs: 'manual' }, { fsync, ...extra });
  const log = await driveSyncs(setup.fs, setup.open());
  return { setup, log };
}

describe('fsync policies', () => {
  it("none: a loop of awaited appends lets timers, signals and I/O run (the second new-user trial: it froze the event loop)", async () => {
    const setup = memoryLogSetup(2, {}, { fsync: 'none' });
    const log = await setup.open({ clock: realClock }); // a real turn of the event loop between confirms
    let fired = false;
    setTimeout(() => (fired = true), 0);
    let appends = 0;
    while (!fired && appends < 20_000) await log.append({ recordCount: 1, payload: payloadOf(appends++), timestamp: 0 });
    expect(fired).toBe(true);
    expect(appends).toBeLessThan(20_000);
    await log.close();
  });

  it('always: each append waits for a sync of its own, and only that confirms it', async () => {
    const { setup, log } = await manualLog('always');
    const a = track(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    const b = track(log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 }));
    await settle();
    expect(setup.fs.pendingSyncs).toBe(2);
    expect([a.done, b.done]).toEqual([false, false]);
    expect(log.committedEnd).toBe(0);
    setup.fs.releaseSyncs(1);
    await settle();
    expect([a.done, b.done]).toEqual([true, false]);
    expect(log.syncedEnd).toBe(1);
    setup.fs.releaseSyncs(1);
    await settle();
    expect(b.done).toBe(true);
    await driveSyncs(setup.fs, log.close());
  });

  it('always: a later sync finishing first does not confirm what an earlier one still covers', async () => {
    const { setup, log } = await manualLog('always');
    const a = track(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    const b = track(log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 }));
    await settle();
    setup.fs.releaseSyncAt(1); // b's sync completes first
    await settle();
    expect([a.done, b.done]).toEqual([false, false]); // a's sync is still out: nothing is confirmed
    expect(log.syncedEnd).toBe(0);
    setup.fs.releaseSyncAt(0);
    await settle();
    expect([a.done, b.done]).toEqual([true, true]);
    expect(log.syncedEnd).toBe(2);
    await driveSyncs(setup.fs, Promise.all([a.promise, b.promise]));
    await driveSyncs(setup.fs, log.close());
  });

  it('interval: appends arriving during a sync ride one shared next sync', async () => {
    const { setup, log } = await manualLog('interval');
    const first = track(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    await settle();
    expect(setup.fs.pendingSyncs).toBe(1);
    const later = [1, 2, 3, 4].map((i) => track(log.append({ recordCount: 1, payload: payloadOf(i), timestamp: 0 })));
    await settle();
    expect(setup.fs.pendingSyncs).toBe(1); // no sync starts while one is in flight
    setup.fs.releaseSyncs();
    await settle();
    expect(first.done).toBe(true);
    expect(later.some((p) => p.done)).toBe(false); // written after the first sync began
    expect(setup.fs.pendingSyncs).toBe(1); // one sync for all four
    setup.fs.releaseSyncs();
    await settle();
    expect(later.every((p) => p.done)).toBe(true);
    await driveSyncs(setup.fs, log.close());
  });

  it('interval: an append made in the callbacks a finished sync released rides the next sync (issue 11: not the one after)', async () => {
    const setup = memoryLogSetup(3, { syncs: 'manual' }, { fsync: 'interval' });
    const log = await driveSyncs(setup.fs, setup.open({ clock: realClock })); // the production deferral: the next turn
    // Two turns: the sync's start is deferred to the turn after the one the release queued.
    const turn = async (): Promise<void> => {
      for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    let held: ReturnType<typeof track> | undefined;
    // A confirm resumes its producer, which then sends what it held: several promise callbacks deep.
    const first = track(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }).then(async () => {
      await Promise.resolve();
      held = track(log.append({ recordCount: 1, payload: payloadOf(2), timestamp: 0 }));
    }));
    await turn();
    expect(setup.fs.pendingSyncs).toBe(1);
    const other = track(log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 })); // written during the sync (an ack, another producer)
    await turn();
    setup.fs.releaseSyncs();
    await turn();
    expect(first.done).toBe(true);
    expect(held).toBeDefined();
    expect(setup.fs.pendingSyncs).toBe(1); // one sync for both
    setup.fs.releaseSyncs();
    await turn();
    expect(other.done).toBe(true);
    expect(held!.done).toBe(true); // before: the sync began before the held append, which waited for a third
    await driveSyncs(setup.fs, log.close());
  });

  it('interval: fsyncIntervalMs spaces syncs apart on the injected clock', async () => {
    const { setup, log } = await manualLog('interval', { fsyncIntervalMs: 50 });
    const a = track(log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    await settle();
    setup.fs.releaseSyncs();
    await settle();
    expect(a.done).toBe(true);
    const b = track(log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 }));
    await settle();
    expect(setup.fs.pendingSyncs).toBe(0); // too soon after the last sync
    setup.clock.advance(49);
    await settle();
    expect(setup.fs.pendingSyncs).toBe(0);
    setup.clock.advance(1);
    await settle();
    expect(setup.fs.pendingSyncs).toBe(1);
    setup.fs.releaseSyncs();
    await settle();
    expect(b.done).toBe(true);
    await driveSyncs(setup.fs, log.close());
  });

  it('none: confirms after the write, survives a process crash, and still seals segments durably', async () => {
    const { setup, log } = await manualLog('none', { segmentBytes: 200 });
    const results = await Promise.all([0, 1, 2].map((i) => log.append({ recordCount: 1, payload: payloadOf(i, 100), timestamp: 0 })));
    expect(results.map((r) => r.baseOffset)).toEqual([0, 1, 2]);
    expect(log.committedEnd).toBe(3);
    expect(log.syncedEnd).toBe(0);
    expect(setup.fs.pendingSyncs).toBeGreaterThan(0); // the roll asked for the sealed segments to be synced
    setup.fs.crash('process');
    const reopened = await driveSyncs(setup.fs, setup.open());
    expect(reopened.nextOffset).toBe(3);
    await driveSyncs(setup.fs, reopened.close());
  });

  it('always: an explicit sync() resolves once covered, even while appends keep syncs in flight', async () => {
    const { setup, log } = await manualLog('always');
    await driveSyncs(setup.fs, log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 }));
    log.append({ recordCount: 1, payload: payloadOf(1), timestamp: 0 }).catch(() => {});
    const forced = track(log.sync());
    for (let i = 2; i < 50; i++) {
      log.append({ recordCount: 1, payload: payloadOf(i), timestamp: 0 }).catch(() => {});
      setup.fs.releaseSyncs(1);
      await settle();
    }
    expect(forced.done).toBe(true);
    await driveSyncs(setup.fs, log.close());
  });

  it('close syncs what was written under any policy', async () => {
    const { setup, log } = await manualLog('none');
    await log.append({ recordCount: 1, payload: payloadOf(0), timestamp: 0 });
    await driveSyncs(setup.fs, log.close());
    setup.fs.crash('power');
    const reopened = await driveSyncs(setup.fs, setup.open());
    expect(reopened.nextOffset).toBe(1);
    await driveSyncs(setup.fs, reopened.close());
  });
});
