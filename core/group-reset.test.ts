import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';
import type { Consumer } from './consumer.ts';

async function takeAll(c: Consumer, n: number): Promise<unknown[]> {
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const d = (await c.next())!;
    values.push(d.value);
    await d.ack();
  }
  return values;
}

describe.each(engineVariants)('ferry.resetGroup() ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('replays from the earliest message after everything was acked, and the new position survives a restart', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [1, 2, 3, 4].map((value) => ({ value })));
    let c = ferry.consumer('g', { topics: ['t'] });
    expect(await takeAll(c, 4)).toEqual([1, 2, 3, 4]);
    // The message fits a reset (trial of the packed package: it said "before deleting the group").
    await expect(ferry.resetGroup('g', 't', { to: 'earliest' })).rejects.toMatchObject({ code: 'GROUP_IN_USE', message: expect.not.stringContaining('deleting') });
    await expect(ferry.resetGroup('g', 't', { to: 'earliest' })).rejects.toThrow('close it (consumer.close()) first: a group is reset or deleted only while none of its consumers is open');
    await c.close();
    expect(await ferry.resetGroup('g', 't', { to: 'earliest' })).toEqual([{ partition: 0, from: expect.any(Number), to: 0 }]);
    c = ferry.consumer('g', { topics: ['t'] });
    expect(await takeAll(c, 2)).toEqual([1, 2]);
    await c.close();
    await ferry.close();
    ferry = await setup.open();
    c = ferry.consumer('g', { topics: ['t'] });
    expect(await takeAll(c, 2)).toEqual([3, 4]);
    await c.close();
  });
});

describe('ferry.resetGroup() and consumer startAt', () => {
  it("'latest' skips every message so far, { time } replays from a publish time, { offset } from an offset", async () => {
    const setup = memoryFerry(71);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const p = ferry.producer();
    await p.publishMany('t', [1, 2].map((value) => ({ value })));
    setup.clock.advance(1000);
    const t3 = setup.clock.now();
    await p.publishMany('t', [3, 4].map((value) => ({ value })));
    let c = ferry.consumer('g', { topics: ['t'] });
    await takeAll(c, 1);
    await c.close({ timeoutMs: 0 });
    await ferry.resetGroup('g', 't', { to: 'latest' });
    c = ferry.consumer('g', { topics: ['t'] });
    const nothing = pendingNext(c);
    await flush();
    expect(nothing.value).toBeUndefined();
    await p.publish('t', { value: 5 });
    await flush();
    expect(nothing.value).toMatchObject({ value: 5 });
    await nothing.value!.ack();
    await c.close({ timeoutMs: 0 });
    await ferry.resetGroup('g', 't', { to: { time: t3 } });
    c = ferry.consumer('g', { topics: ['t'] });
    expect(await takeAll(c, 3)).toEqual([3, 4, 5]);
    await c.close({ timeoutMs: 0 });
    await ferry.resetGroup('g', 't', { to: { offset: 1 } });
    c = ferry.consumer('g', { topics: ['t'] });
    expect((await c.next())!.value).toBe(2);
    await c.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('refuses a group that never joined the topic, and a bad position, with typed errors', async () => {
    const setup = memoryFerry(72);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await expect(ferry.resetGroup('nobody', 't', { to: 'earliest' })).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    await expect(ferry.resetGroup('g', 't', { to: 'first' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.resetGroup('g', 't', { to: { offset: -1 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.resetGroup('g', 'nope', { to: 'earliest' })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(() => ferry.consumer('g', { topics: ['t'], startAt: 'now' as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await ferry.close({ timeoutMs: 0 });
  });

  it('a crash right after a reset leaves the old position or the new one, never a mix', async () => {
    const outcomes = new Set<number>();
    for (const seed of [81, 82, 83, 84, 85, 86]) {
      const setup = memoryFerry(seed);
      let ferry = await setup.open({ fsync: 'interval' });
      await ferry.createTopic('t');
      await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
      const c = ferry.consumer('g', { topics: ['t'] });
      await takeAll(c, 3);
      await c.close({ timeoutMs: 0 });
      void ferry.resetGroup('g', 't', { to: 'earliest' }).catch(() => {});
      if (seed % 2 === 0) await flush(1); // sometimes the record is written, sometimes not yet
      setup.fs.crash('power');
      ferry = await setup.open();
      const again = ferry.consumer('g', { topics: ['t'] });
      const got: unknown[] = [];
      for (;;) {
        const next = pendingNext(again);
        await flush();
        if (!next.value) break;
        got.push(next.value.value);
        await next.value.ack();
      }
      expect([[], [1, 2, 3]]).toContainEqual(got);
      outcomes.add(got.length);
      await ferry.close({ timeoutMs: 0 });
    }
    expect([...outcomes].sort()).toEqual([0, 3]); // both sides of the crash were reached
  });

  it("a new group with startAt 'latest' gets only messages published after it joined; an existing group keeps its place", async () => {
    const setup = memoryFerry(73);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const p = ferry.producer();
    await p.publishMany('t', [1, 2].map((value) => ({ value })));
    const late = ferry.consumer('late', { topics: ['t'], startAt: 'latest' });
    const first = pendingNext(late);
    await flush();
    expect(first.value).toBeUndefined();
    await p.publish('t', { value: 3 });
    await flush();
    expect(first.value).toMatchObject({ value: 3 });
    await first.value!.ack();
    await late.close({ timeoutMs: 0 });
    const early = ferry.consumer('late', { topics: ['t'], startAt: 'earliest' }); // exists: keeps its place
    const none = pendingNext(early);
    await flush();
    expect(none.value).toBeUndefined();
    await early.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('an abandoned consumer (a crashed process) is no longer a member', () => {
  it('its group can be reset and deleted, and its topic deleted, without closing it', async () => {
    const ferry = await memoryFerry(71).open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    const c = ferry.consumer('g', { topics: ['t'] });
    await c.next();
    c.abandon();
    // Before: the dead member stayed in the engine's members, refused with GROUP_IN_USE until close.
    expect(await ferry.resetGroup('g', 't', { to: 'earliest' })).toHaveLength(1);
    expect((await ferry.describe()).groups.find((g) => g.name === 'g')?.members ?? []).toEqual([]);
    expect(await ferry.deleteGroup('g')).toEqual(['t']);
    expect(await ferry.deleteTopic('t')).toBe(true);
    await ferry.close({ timeoutMs: 0 });
  });
});
