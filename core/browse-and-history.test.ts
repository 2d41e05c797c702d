import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('ferry.read() and ferry.inspect() ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('reads a topic and its dead-letter topic without a group: nothing is leased, and a group still gets every message', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [{ value: 'a', key: 'k1', id: 'm-a' }, { value: 'b', headers: { h: '1' } }, { value: 'c' }]);
    const browsed = await ferry.read<string>('t', { partition: 0, from: 1, limit: 2 });
    expect(browsed.map((m) => [m.offset, m.value])).toEqual([[1, 'b'], [2, 'c']]);
    expect(browsed[0]).toMatchObject({ topic: 't', partition: 0, headers: { h: '1' }, deadLetter: undefined });
    expect((await ferry.read('t'))[0]).toMatchObject({ offset: 0, value: 'a', key: 'k1', id: 'm-a' });
    const c = ferry.consumer('g', { topics: ['t'] });
    const first = (await c.next())!;
    expect(first).toMatchObject({ value: 'a', attempt: 1 }); // browsing took nothing
    await first.nack({ error: 'bad input' });
    await (await c.next())!.ack();
    await (await c.next())!.ack();
    await setup.eventually(() => true);
    let letters = await ferry.read('t.dlq');
    for (let i = 0; i < 100 && letters.length === 0; i++) {
      await setup.elapse(10);
      letters = await ferry.read('t.dlq');
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value).toBe('a');
    expect(letters[0]!.deadLetter).toMatchObject({ topic: 't', partition: 0, offset: 0, group: 'g', attempts: 1, lastError: 'bad input' });
    await c.close();
  });

  it("inspect tells a message's life: published with key and id, the failed attempt with its error, the dead-letter move; and another group's ack", async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publish('t', { value: 'x', key: 'k', id: 'order-7' });
    const billing = ferry.consumer('billing', { topics: ['t'] });
    const audit = ferry.consumer('audit', { topics: ['t'] });
    await (await audit.next())!.ack();
    await (await billing.next())!.nack({ error: 'card declined' });
    await (await billing.next())!.nack({ error: 'card declined again' });
    let h = await ferry.inspect('t', 0, 0);
    for (let i = 0; i < 100 && !h.steps.some((s) => s.kind === 'deadLettered'); i++) {
      await setup.elapse(10);
      h = await ferry.inspect('t', 0, 0);
    }
    expect(h).toMatchObject({ offset: 0, key: 'k', id: 'order-7', truncated: false });
    expect(h.steps.map((s) => [s.kind, s.group])).toEqual([
      ['acked', 'audit'],
      ['failed', 'billing'],
      ['deadLetterIntent', 'billing'],
      ['deadLettered', 'billing'],
    ]);
    expect(h.steps[1]).toMatchObject({ attempts: 1, error: 'card declined' });
    expect(h.steps[2]).toMatchObject({ attempts: 2, error: 'card declined again' });
    expect(h.groups).toEqual(expect.arrayContaining([{ group: 'audit', state: 'settled' }, { group: 'billing', state: 'settled' }]));
    await billing.close();
    await audit.close();
  });
});

describe('ferry.read() and ferry.inspect(): positions and bad input', () => {
  it('reads from a time across partitions, merged by publish time; refuses bad partitions, limits and offsets with typed errors', async () => {
    const setup = memoryFerry(51);
    const ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2 });
    const p = ferry.producer();
    await p.publish('t', { value: 'old', key: 'a' });
    setup.clock.advance(1000);
    const t1 = setup.clock.now();
    await p.publish('t', { value: 'new1', key: 'a' });
    setup.clock.advance(1);
    await p.publish('t', { value: 'new2', key: 'b' });
    const fromTime = await ferry.read<string>('t', { from: { time: t1 } });
    expect(fromTime.map((m) => m.value)).toEqual(['new1', 'new2']);
    await expect(ferry.read('t', { partition: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.read('t', { limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ferry.read('t', { from: 3 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' }); // an offset needs a partition
    await expect(ferry.read('nope')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(ferry.inspect('t', 0, 99)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await ferry.createTopic('one');
    await p.publish('one', { value: 1 });
    const c = ferry.consumer('g', { topics: ['one'] });
    await (await c.next())!.ack();
    await flush();
    // Offset 1 holds the engine's own record (the group's ack): not a message.
    expect((await ferry.metrics()).topics.find((t) => t.topic === 'one')!.partitions[0]!.nextOffset).toBeGreaterThan(1);
    await expect(ferry.inspect('one', 0, 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('not a message') });
    await ferry.close({ timeoutMs: 0 });
  });
});
