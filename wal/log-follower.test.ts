// LogFollower (issue 12 `ferry tail --follow`): reads a log another writer is appending to,
// reading only, a bounded amount per poll, across segment rolls and retention.
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from './fault-disk.ts';
import { LogFollower } from './log-follower.ts';
import { WriteAheadLog } from './log.ts';
import { ManualClock } from './seams/clock.ts';
import { SeededRandom } from './seams/random.ts';

async function writer(segmentBytes = 1024) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(3) });
  const log = await WriteAheadLog.open({ dir: '/log', fs, clock: new ManualClock(1000), fsync: 'none', segmentBytes });
  const append = async (n: number) => {
    for (let i = 0; i < n; i++) await log.append({ type: 1, recordCount: 1, payload: new Uint8Array(100).fill(i), timestamp: 1000 });
  };
  return { fs, log, append };
}

const offsets = (batches: { baseOffset: number }[]) => batches.map((b) => b.baseOffset);

describe('LogFollower', () => {
  it('hands out what is written since the last poll, at most maxBytes a poll, across segment rolls', async () => {
    const { fs, log, append } = await writer();
    const follower = new LogFollower(fs, '/log', 'earliest');
    expect(follower.poll()).toEqual([]);
    await append(25); // several segments of 1 KiB
    expect(log.segments().length).toBeGreaterThan(2);
    const first = follower.poll(400); // batches of 164 bytes: stops once past 400
    expect(offsets(first)).toEqual([0, 1, 2]);
    const rest = follower.poll();
    expect(offsets(rest)).toEqual(Array.from({ length: 22 }, (_, i) => i + 3));
    expect(rest[0]!.payload).toEqual(new Uint8Array(100).fill(3));
    expect(follower.poll()).toEqual([]);
    await append(2);
    expect(offsets(follower.poll())).toEqual([25, 26]);
    await log.close();
  });

  it("from 'end' skips what is written; from an offset starts at the batch holding it", async () => {
    const { fs, log, append } = await writer();
    await append(10);
    const atEnd = new LogFollower(fs, '/log', 'end');
    const fromSeven = new LogFollower(fs, '/log', 7);
    expect(atEnd.poll()).toEqual([]);
    expect(offsets(fromSeven.poll())).toEqual([7, 8, 9]);
    await append(1);
    expect(offsets(atEnd.poll())).toEqual([10]);
    await log.close();
  });

  it('goes on with the oldest segment left when retention deleted the one it was reading', async () => {
    const { fs, log, append } = await writer();
    await append(5);
    const follower = new LogFollower(fs, '/log', 'earliest');
    expect(offsets(follower.poll(1))).toEqual([0]); // one batch past the budget at most
    await append(20);
    const cut = log.segments()[2]!.baseOffset;
    await log.deleteBefore(cut);
    const next = offsets(follower.poll());
    expect(next[0]).toBe(cut);
    expect(next.at(-1)).toBe(24);
    await log.close();
  });
});
