// Topics and groups as an operator manages them (issue 9 §1, §3): createTopic ensures, unknown
// option names are refused with a typed error naming them, groups can be deleted (and stop holding
// back retention), and a dead-letter topic never drops a letter its consumers keep failing.
import { describe, expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

describe('topics', () => {
  it('createTopic without options ensures an existing topic; different options are a TOPIC_CONFLICT', async () => {
    const setup = memoryFerry(31);
    let ferry = await setup.open();
    await ferry.createTopic('t', { partitions: 4 });
    await ferry.close();
    ferry = await setup.open();
    await ferry.createTopic('t'); // before: TOPIC_CONFLICT (the defaults said 1 partition)
    expect(ferry.topics().find((t) => t.name === 't')!.options.partitions).toBe(4);
    await expect(ferry.createTopic('t', { partitions: 2 })).rejects.toMatchObject({ code: 'TOPIC_CONFLICT' });
    await ferry.close();
  });

  it('refuses unknown option names, naming them, instead of ignoring them', async () => {
    const setup = memoryFerry(32);
    const ferry = await setup.open();
    await expect(ferry.createTopic('t', { maxDelivery: 3 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { unknown: ['maxDelivery'] } });
    await expect(ferry.createTopic('t', { backoff: { kind: 'fixed', delayMs: 5, initialMs: 1 } } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(ferry.topics()).toHaveLength(0); // nothing was created
    await ferry.createTopic('t');
    expect(() => ferry.consumer('g', { topics: ['t'], maxInflight: 5 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { unknown: ['maxInflight'] } }));
    for (const pollWaitMs of [0, Number.NaN, -1]) expect(() => ferry.consumer('g', { topics: ['t'], pollWaitMs })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const consumer = ferry.consumer('g', { topics: ['t'] });
    await expect(consumer.run(() => {}, { concurency: 2 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await consumer.close();
    await ferry.close();
    await expect(setup.open({ thread: 2 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { unknown: ['thread'] } });
    await expect(setup.open({ limits: { maxGroup: 1 } as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(setup.open({ limits: { maxWaiters: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(setup.open({ fsyncIntervalMs: Number.NaN })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await (await setup.open()).close(); // the refused opens left the directory unlocked
  });
});

describe('groups', () => {
  it('deleteGroup forgets a group (also across a restart); refused while a consumer of it is open', async () => {
    const setup = memoryFerry(33);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 1 }, { value: 2 }]);
    const consumer = ferry.consumer<number>('g', { topics: ['t'] });
    await (await consumer.next())!.ack();
    await expect(ferry.deleteGroup('g')).rejects.toMatchObject({ code: 'GROUP_IN_USE' });
    await consumer.close({ timeoutMs: 0 });
    expect(await ferry.deleteGroup('g')).toEqual(['t']);
    // Already gone, or never there: refused, as resetGroup refuses it (new-user trial: resolved [] in silence).
    await expect(ferry.deleteGroup('g')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP', message: expect.stringContaining('consumer group "g" is not registered on any topic') });
    await expect(ferry.deleteGroup('nobody', { topics: ['t'] })).rejects.toMatchObject({ code: 'UNKNOWN_GROUP', message: expect.stringContaining('on topic "t"') });
    await ferry.close();
    ferry = await setup.open();
    const again = ferry.consumer<number>('g', { topics: ['t'] });
    const values = [(await again.next())!, (await again.next())!].map((d) => d.value);
    expect(values).toEqual([1, 2]); // from the beginning: the ack of 1 went with the group
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('dead-letter topics', () => {
  it('refuses a new topic whose dead-letter topic exists as an ordinary topic (created first, it would retry and move letters again), with what to do', async () => {
    const setup = memoryFerry(38);
    const ferry = await setup.open();
    await ferry.createTopic('orders.dlq'); // an ops service that started first
    // Before: 'orders' was created, and its letters got 5 deliveries and an orders.dlq.dlq.
    await expect(ferry.createTopic('orders', { maxDeliveries: 1 })).rejects.toMatchObject({ code: 'DEAD_LETTER_TOPIC_CONFLICT', message: expect.stringMatching(/create "orders" first/) });
    expect(ferry.topics()).not.toContain('orders');
    await ferry.createTopic('jobs'); // the usual order: the dead-letter topic comes with it
    await ferry.createTopic('jobs.dlq'); // and an ops service ensuring it afterwards is fine
    await ferry.createTopic('jobs'); // as is creating the topic again
    await ferry.close();
  });

  it('never drop a letter, however often its consumer fails it', async () => {
    const setup = memoryFerry(34);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publish('t', { value: 'x' });
    const worker = ferry.consumer('g', { topics: ['t'] });
    await (await worker.next())!.nack();
    const ops = ferry.consumer('ops', { topics: ['t.dlq'] });
    // Before: the letter's topic had maxDeliveries 5, so the fifth failure dropped it silently.
    for (let attempt = 1; attempt <= 8; attempt++) {
      const pending = ops.next();
      let letter: Awaited<typeof pending> | undefined;
      void pending.then((d) => (letter = d));
      for (let i = 0; i < 400 && !letter; i++) {
        setup.clock.advance(1000);
        await flush(4);
      }
      expect(letter).toMatchObject({ value: 'x', attempt });
      await letter!.nack({ delayMs: 0 });
    }
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('producer options', () => {
  it('are validated once, with typed errors naming the option (NaN or 0 would spin or stall)', async () => {
    const setup = memoryFerry(35);
    const ferry = await setup.open();
    for (const bad of [{ maxBatchMessages: 0 }, { maxBatchMessages: Number.NaN }, { maxBufferBytes: -1 }, { deliveryTimeoutMs: Number.NaN }, { idempotent: 'yes' }, { maxBatch: 5 }]) {
      expect(() => ferry.producer(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    await ferry.close();
  });
});

describe('messages and backoff', () => {
  it('refuse a message field nobody reads (a typo loses what it meant), a message without value, a fixed backoff without delayMs', async () => {
    const setup = memoryFerry(36);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const producer = ferry.producer();
    await expect(producer.publish('t', { value: 1, delay: 5 } as never)).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(producer.publish('t', { id: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(ferry.createTopic('u', { backoff: { kind: 'fixed' } as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await producer.publish('t', { value: 1, delayMs: 0 })).toMatchObject({ offset: 0 }); // nothing was stored before
    await ferry.close();
  });
});
