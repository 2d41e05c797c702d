// Ferry.open({ zeroFillBytes }) reaches every partition log, in-thread and on worker threads:
// 0 turns the zeros written ahead of the appends off (copy-on-write file systems such as btrfs and
// ZFS gain nothing from them and pay a second write); bad values are refused at open.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { realFerry, until } from '../test-support/real-ferry.ts';
import { DEFAULT_ZERO_FILL_BYTES } from '../wal/index.ts';

/** Size on disk of topic `t`'s first segment (partition 0) with one message in it, once `enough` holds or 2 s passed. */
async function segmentSize(threads: number, zeroFillBytes: number | undefined, enough: (size: number) => boolean): Promise<number> {
  const disk = realFerry(threads);
  try {
    const ferry = await disk.open(zeroFillBytes === undefined ? {} : { zeroFillBytes });
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 'x' });
    const segment = join(disk.dir, 'topics', 't', '0', '00000000000000000000.log');
    await until(() => enough(statSync(segment).size), 2000).catch(() => {}); // the zeros follow the append
    const size = statSync(segment).size;
    await ferry.close();
    return size;
  } finally {
    disk.cleanup();
  }
}

describe.each([0, 2])('zeroFillBytes through Ferry.open (threads %i)', (threads) => {
  it('writes 1 MiB of zeros ahead of a partition log by default, and none with 0', async () => {
    expect(await segmentSize(threads, undefined, (size) => size >= DEFAULT_ZERO_FILL_BYTES)).toBeGreaterThanOrEqual(DEFAULT_ZERO_FILL_BYTES);
    expect(await segmentSize(threads, 0, () => false)).toBeLessThan(4096); // waited the whole 2 s: nothing came
  });
});

describe('zeroFillBytes refusals', () => {
  it.each([-1, 1.5, '1024', 64 * 1024 * 1024 + 1])('refuses %s with INVALID_ARGUMENT naming the range', async (zeroFillBytes) => {
    await expect(memoryFerry().open({ zeroFillBytes: zeroFillBytes as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('options.zeroFillBytes must be a whole number from 0 to 67108864') });
  });
});
