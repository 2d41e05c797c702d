import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../wal/index.ts';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import { InvalidMessageError, InvalidNameError, TopicConflictError, UnknownTopicError } from './errors.ts';
import { pendingNext } from '../test-support/memory-ferry.ts';

describe.each(engineVariants)('limits and bad input ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('a consumer holds at most maxInFlight unsettled deliveries', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', Array.from({ length: 10 }, (_, value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'], maxInFlight: 2 });
    const held = [(await c.next())!, (await c.next())!];
    const third = pendingNext(c);
    await setup.settle();
    expect(third.value).toBeUndefined();
    await held[0]!.ack();
    await setup.eventually(() => third.value !== undefined);
  });

  it('a producer over its buffer limit makes publish wait, not grow', async () => {
    // Group commit: the buffer drains as batches confirm.
    const ferry = await engine.setup({ fsync: 'interval' }).open();
    await ferry.createTopic('t');
    const p = ferry.producer({ maxBufferBytes: 2000 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => p.publish('t', { value: 'x'.repeat(200) + i })));
    expect(results.map((r) => r.offset)).toEqual([...Array(50).keys()]);
  });

  it('rejects bad names, unknown topics, bad values and delays with typed errors, writing nothing', async () => {
    const ferry = await engine.setup({ maxMessageBytes: 1000 }).open();
    for (const bad of ['', '../etc', 'a/b', 'a\\b', 'a\0b', 'x'.repeat(201)]) await expect(ferry.createTopic(bad)).rejects.toBeInstanceOf(InvalidNameError);
    await ferry.createTopic('t');
    const p = ferry.producer();
    await expect(p.publish('nope', { value: 1 })).rejects.toBeInstanceOf(UnknownTopicError);
    await expect(p.publish('t', { value: 'x'.repeat(2000) })).rejects.toBeInstanceOf(InvalidMessageError);
    await expect(p.publish('t', { value: () => 1 })).rejects.toBeInstanceOf(InvalidMessageError);
    for (const delayMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) await expect(p.publish('t', { value: 1, delayMs })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(p.publishMany('t', [{ value: 1 }, { value: Symbol('s') }])).rejects.toBeInstanceOf(InvalidMessageError);
    expect(() => ferry.consumer('bad/group', { topics: ['t'] })).toThrow(InvalidNameError);
    expect(() => ferry.consumer('g', { topics: ['nope'] })).toThrow(UnknownTopicError);
    // Nothing was written: the first real message gets offset 0.
    expect((await p.publish('t', { value: 'ok' })).offset).toBe(0);
    await ferry.close({ timeoutMs: 0 });
    await expect(ferry.createTopic('u')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('nack takes what a catch block holds (an Error, any value, a string), bounded, and refuses a bad delay without losing the lease', async () => {
    const ferry = await engine.setup().open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    const producer = ferry.producer();
    await producer.publishMany('t', [{ value: 1 }, { value: 2 }, { value: 3 }]);
    const consumer = ferry.consumer('g', { topics: ['t'], maxInFlight: 3 });
    const d = [(await consumer.next())!, (await consumer.next())!, (await consumer.next())!];
    for (const delayMs of [-1, Number.NaN, '5' as unknown as number]) await expect(d[0]!.nack({ delayMs })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await d[0]!.nack({ error: new TypeError('boom') }); // still its lease: the refused nacks changed nothing
    await d[1]!.nack({ error: { status: 503 } });
    await d[2]!.nack({ error: 'x'.repeat(5000) });
    const letters = ferry.consumer('ops', { topics: ['t.dlq'], maxInFlight: 3 });
    const errors = new Map<unknown, string>();
    for (let i = 0; i < 3; i++) {
      const letter = (await letters.next())!;
      errors.set(letter.value, letter.deadLetter!.lastError!);
      await letter.ack();
    }
    expect(errors.get(1)).toMatch(/^TypeError: boom\n\s+at /);
    expect(errors.get(2)).toBe('{"status":503}');
    expect(errors.get(3)).toHaveLength(4096);
  });

  it('createTopic is idempotent for the same options and a typed error for different ones', async () => {
    const setup = engine.setup();
    let ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2 });
    await ferry.createTopic('t', { partitions: 2 });
    await expect(ferry.createTopic('t', { partitions: 3 })).rejects.toBeInstanceOf(TopicConflictError);
    expect(ferry.topics().map((t) => t.name).sort()).toEqual(['t', 't.dlq']);
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 2 }); // remembered across a restart
    await expect(ferry.createTopic('t', { partitions: 1 })).rejects.toMatchObject({ code: 'TOPIC_CONFLICT' });
  });

  it('a second engine on the same directory gets LOCKED', async () => {
    const setup = engine.setup();
    await setup.open();
    await expect(setup.open()).rejects.toMatchObject({ code: 'LOCKED' });
  });
});
