// The decision log stays bounded (issue 13): every transaction appends its decision, so the log is
// compacted into a snapshot of what is still needed (the boot number, undecided half transactions,
// decisions not yet applied everywhere) and the segments before it deleted; a reopen gives the same.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { DECISION_COMPACT_AFTER_BYTES, DECISION_LOG_OPTIONS, DecisionLog } from './decision-log.ts';

describe('the decision log', () => {
  it('stays bounded under many transactions, and a reopen keeps the boot number, open halves and unapplied decisions', async () => {
    const fs = new MemoryFileSystem({ random: new SeededRandom(5) });
    const clock = new ManualClock(1_000_000);
    const open = async () => DecisionLog.load(await WriteAheadLog.open({ dir: '/ferry/_transactions', fs, clock, ...DECISION_LOG_OPTIONS }));
    let log = await open();
    expect(await log.boot(1)).toBe(1);
    await log.begin('order-1@1.0', 'order-1', 7);
    let largest = 0;
    for (let i = 0; i < 20_000; i++) {
      await log.decide(`1.${i}`, true, 1);
      if (i !== 19_999) log.forget(`1.${i}`); // applied everywhere, but for the last one
      largest = Math.max(largest, log.logBytes);
    }
    // Without compaction the log would hold all 20,000 decisions (about 40 bytes each and a header).
    expect(largest).toBeLessThan(DECISION_COMPACT_AFTER_BYTES + 2 * DECISION_LOG_OPTIONS.segmentBytes);
    await log.close();

    log = await open();
    expect(log.halves()).toEqual([['order-1@1.0', { id: 'order-1', at: 7 }]]);
    expect(log.decision('1.19999')).toBe(true);
    expect(log.decisions().length).toBeLessThan(20_000);
    expect(await log.boot(1)).toBe(2); // a new run never reuses a boot number, so no id repeats
    await log.close();
  }, 60_000);
});
