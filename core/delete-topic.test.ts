import { afterEach, describe, expect, it } from 'vitest';
import { UnknownTopicError } from './errors.ts';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('ferry.deleteTopic() ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('deletes a topic for good (across a restart); a topic created again with its name starts empty; its dead-letter topic keeps the letters', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2, maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value, key: `k${value}` })));
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ error: 'bad' });
    await expect(ferry.deleteTopic('t')).rejects.toMatchObject({ code: 'TOPIC_IN_USE' });
    await c.close();
    await expect(ferry.deleteTopic('t.dlq')).rejects.toMatchObject({ code: 'TOPIC_IN_USE', message: expect.stringContaining('dead-letter topic of "t"') });
    let letters = await ferry.read('t.dlq');
    for (let i = 0; i < 100 && letters.length === 0; i++) {
      await setup.elapse(10);
      letters = await ferry.read('t.dlq');
    }
    expect(await ferry.deleteTopic('t')).toBe(true);
    // Gone: a second delete is refused, as deleteGroup refuses an unknown group (issue 12).
    await expect(ferry.deleteTopic('t')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', message: expect.stringContaining('nothing to delete') });
    await expect(ferry.deleteTopic('never-created')).rejects.toBeInstanceOf(UnknownTopicError);
    expect(ferry.topics().map((x) => x.name)).toEqual(['t.dlq']);
    await expect(ferry.producer().publish('t', { value: 4 })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await ferry.close();
    ferry = await setup.open();
    expect(ferry.topics().map((x) => x.name)).toEqual(['t.dlq']);
    expect(await ferry.read('t.dlq')).toHaveLength(1); // the letter stays
    await ferry.createTopic('t', { partitions: 1 });
    expect(await ferry.read('t')).toEqual([]);
    await ferry.producer().publish('t', { value: 'fresh' });
    expect((await ferry.read('t')).map((m) => [m.offset, m.value])).toEqual([[0, 'fresh']]);
    expect(await ferry.deleteTopic('t')).toBe(true);
    expect(await ferry.deleteTopic('t.dlq')).toBe(true); // no topic dead-letters into it any more
    expect(ferry.topics()).toEqual([]);
  });
});

describe('ferry.deleteTopic() on disk', () => {
  it("removes the topic's files", async () => {
    const setup = memoryFerry(95);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    expect(setup.fs.list('/ferry/topics/t/0').some((f) => f.endsWith('.log'))).toBe(true);
    await ferry.deleteTopic('t');
    expect(setup.fs.exists('/ferry/topics/t/0/00000000000000000000.log')).toBe(false);
    expect(setup.fs.list('/ferry/topics')).not.toContain('t');
    await expect(ferry.deleteTopic('../x')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await ferry.close({ timeoutMs: 0 });
  });
});

// Found by the simulator's admin workload (issue 12, fresh seed 239153770): a deleteTopic whose
// directory sync failed left its files' removal to be undone by a power loss, and a createTopic of
// the name that failed after its catalog record (the partition could not be opened) left that
// record to survive it: the old messages came back as the new topic's.
describe('ferry.createTopic() after a deleteTopic', () => {
  it('makes the removal of the old files durable before the new topic is: a power loss never brings them back as its messages', async () => {
    const setup = memoryFerry(96);
    const faults = { dirSync: false, partitionFiles: false };
    const view = setup.fs.processView();
    const eio = () => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    const fs = {
      ...view,
      syncDir: (dir: string) => (faults.dirSync && dir.endsWith('/topics') ? Promise.reject(eio()) : view.syncDir(dir)),
      open: (path: string, mode: Parameters<typeof view.open>[1]) => {
        if (faults.partitionFiles && path.includes('/topics/t/')) throw eio();
        return view.open(path, mode);
      },
    };
    let ferry = await setup.open({ fs });
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 'old 1' }, { value: 'old 2' }]);
    faults.dirSync = true; // the delete's own directory sync fails (best effort there: the catalog decides)
    expect(await ferry.deleteTopic('t')).toBe(true);
    faults.dirSync = false;
    faults.partitionFiles = true; // the new topic is in the catalog, its partition cannot be opened
    await expect(ferry.createTopic('t')).rejects.toThrow();
    setup.fs.crash('power');
    ferry = await setup.open();
    expect(ferry.topics().map((x) => x.name)).toContain('t');
    expect(await ferry.read('t')).toEqual([]);
    await ferry.close({ timeoutMs: 0 });
  });
});
