// Ferry.open({ metrics: false }) (issue 12, the metrics' cost): the partitions measure no
// durations (the histograms stay empty, on worker threads too) while the counts, which the alert
// events and describe() read, go on; the option is checked like every other.
import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('Ferry.open({ metrics }) ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  for (const metrics of [true, false]) {
    it(`metrics: ${metrics} ${metrics ? 'measures' : 'measures no'} durations and counts all the same`, async () => {
      const ferry = await engine.setup().open({ metrics });
      await ferry.createTopic('t', { partitions: 2 });
      await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
      const c = ferry.consumer('g', { topics: ['t'] });
      for (let i = 0; i < 3; i++) await (await c.next())!.ack();
      const m = await ferry.metrics();
      expect(m.topics.find((t) => t.topic === 't')?.published).toBe(3);
      expect(m.groups.find((g) => g.group === 'g')).toMatchObject({ delivered: 3, acked: 3 });
      const { confirm, deliver, handler, fsync } = m.engine;
      if (metrics) {
        expect([deliver.count, handler.count]).toEqual([3, 3]);
        expect(confirm.count).toBeGreaterThan(0); // one per partition batch
        expect(fsync.count).toBeGreaterThan(0);
      } else expect([confirm.count, deliver.count, handler.count, fsync.count]).toEqual([0, 0, 0, 0]);
      await c.close();
    });
  }
});

describe('Ferry.open options.metrics', () => {
  it('is true or false; the limit it rides on is not a user option', async () => {
    const setup = memoryFerry(7);
    await expect(setup.open({ metrics: 'off' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('options.metrics must be true or false') });
    await expect(setup.open({ limits: { metrics: false } as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
