// A forced sync (log.sync()) asked for while another sync is in flight, for data that is already
// synced, resolves when a sync completes, even one that moved nothing. Before, it was never resolved
// and each completion started another sync for it: an endless loop of microtasks that froze the
// process (found by the simulator at seed 1216009795).
import { expect, it } from 'vitest';
import { FerryError } from './ferry-error.ts';
import { GroupCommit } from './group-commit.ts';
import { ManualClock } from './seams/clock.ts';

it('resolves a forced sync of already-synced data that was asked for while a sync was in flight', async () => {
  const pending: (() => void)[] = [];
  let syncsStarted = 0;
  const commit = new GroupCommit(
    {
      policy: 'interval',
      intervalMs: 0,
      clock: new ManualClock(0),
      maxWaiters: 100,
      source: {
        beginSync: () => {
          syncsStarted++;
          return { covers: 1, done: new Promise<void>((resolve) => pending.push(resolve)) };
        },
      },
      onSynced: () => {},
      onFailure: (error) => new FerryError('FSYNC_FAILED', String(error), false),
    },
    0,
  );
  const settled = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  const first = commit.syncNow(1); // sync A
  const second = commit.syncNow(1); // sync B, in flight with A
  pending.shift()!(); // A completes: 1 is synced
  await settled();
  await first;
  let thirdDone = false;
  void commit.syncNow(1).then(() => (thirdDone = true)); // already synced, but B is in flight: sync C
  pending.shift()!(); // B completes, moving nothing
  await settled();
  await second;
  pending.shift()!(); // C completes, moving nothing
  await settled();
  expect(thirdDone).toBe(true);
  const started = syncsStarted;
  await settled();
  expect(syncsStarted).toBe(started); // no sync started for a waiter that was already covered
});
