// What a user reads when an option or argument is refused: the field they got wrong, the value
// they passed shown so a string never reads as a number, and what is allowed (issue: new-user
// trial of the packed package).
import { afterEach, describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import type { Ferry } from './ferry.ts';

describe('option errors', () => {
  let ferry: Ferry | undefined;
  afterEach(async () => {
    await ferry?.close({ timeoutMs: 0 });
    ferry = undefined;
  });

  it("quote a string value, so '2' and 2 read differently (new-user trial: `(got 2)` for the string '2')", async () => {
    ferry = await memoryFerry().open();
    await expect(ferry.createTopic('t', { partitions: '2' as unknown as number })).rejects.toThrow("partitions must be an integer from 1 to 4096 (got '2')");
    await expect(ferry.createTopic('u', { partitions: 5000 })).rejects.toThrow('(got 5000)');
    await ferry.createTopic('t');
    expect(() => ferry!.producer({ maxBatchMessages: '2' as unknown as number })).toThrow("(got '2')");
    expect(() => ferry!.consumer('g', { topics: ['t'], maxInFlight: '2' as unknown as number })).toThrow("(got '2')");
    await expect(ferry.consumer('g', { topics: ['t'] }).run(() => {}, { concurrency: '2' as unknown as number })).rejects.toThrow("(got '2')");
    await expect(memoryFerry().open({ segmentBytes: '2' as unknown as number })).rejects.toThrow("(got '2')");
  });
});
