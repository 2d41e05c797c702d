// The conformance suite's consumer faults and batch leases (test-support/conformance-suite.ts runs
// it for every backend): a fault names the message it concerns (topic, partition, offset, attempt);
// a handler error that cannot become a nack is reported, not lost; extendMany extends many leases
// with one call. Real time, short leases.
import { expect, it, type TestContext } from 'vitest';
import type { ConsumerFault, Delivery } from '../index.ts';
import type { FerryApi } from './conformance-suite.ts';
import { fresh, nextWithin, sleep, takeAll } from './conformance-helpers.ts';

/** Waits until `done()` or `ms` passed. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(20);
}

/** A fault as the tests compare it: where, what, and the handler's own error where there is one. */
function shown(f: ConsumerFault): Record<string, unknown> {
  const cause = f.error.cause instanceof Error ? f.error.cause.message : undefined;
  return { during: f.during, code: f.error.code, topic: f.topic, partition: f.partition, offset: f.offset, attempt: f.attempt, ...(cause === undefined ? {} : { cause }) };
}

/** A topic with a 300 ms lease holding one message, and a consumer of a fresh group whose faults are recorded. */
async function oneShortLease(ferry: FerryApi, name: string, value: string) {
  const topic = fresh(name);
  await ferry.createTopic(topic, { ackTimeoutMs: 300 });
  const [sent] = await ferry.producer().publishMany(topic, [{ value }]);
  const consumer = ferry.consumer<string>(fresh('g'), { topics: [topic] });
  const faults: ConsumerFault[] = [];
  consumer.onFault((f) => faults.push(f));
  // The one fault expected: the settle of this message's first attempt refused, its lease gone.
  const stale = { during: 'settle', code: 'STALE_DELIVERY', topic, partition: sent!.partition, offset: sent!.offset, attempt: 1 };
  return { consumer, faults, stale };
}

/** Defines the consumer-fault and extendMany tests for one backend (inside its describe). */
export function describeConsumerConformance(ferryFor: (ctx: TestContext) => Promise<FerryApi>): void {
  it('reports a run() handler that throws after acking its delivery itself (HANDLER_THREW, during: handler) with the message\'s topic, partition, offset and attempt; the ack stands', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('threw');
    await ferry.createTopic(topic, { partitions: 2 });
    const sent = await ferry.producer().publishMany(topic, [{ value: 'a', key: 'x' }, { value: 'b', key: 'y' }]);
    const group = fresh('g');
    const consumer = ferry.consumer<string>(group, { topics: [topic] });
    const faults: ConsumerFault[] = [];
    consumer.onFault((f) => faults.push(f));
    const events: unknown[] = [];
    const unlisten = ferry.on('consumerFailed', (e) => events.push(e));
    const running = consumer.run(async (d) => {
      await d.ack();
      throw new Error(`after the ack of ${d.value}`);
    });
    await until(() => faults.length >= 2 && events.length >= 2, 10_000);
    await sleep(300); // nothing more: neither message comes back
    await consumer.close();
    await running;
    unlisten();
    const expected = sent.map((r, i) => ({ during: 'handler', code: 'HANDLER_THREW', topic, partition: r.partition, offset: r.offset, attempt: 1, cause: `after the ack of ${'ab'[i]}` }));
    const byPlace = (a: Record<string, unknown>, b: Record<string, unknown>): number => (a['partition'] as number) - (b['partition'] as number) || (a['offset'] as number) - (b['offset'] as number);
    expect(faults.map(shown).sort(byPlace)).toEqual(expected.sort(byPlace)); // before: no fault at all
    expect(events).toEqual(expect.arrayContaining(sent.map((r) => expect.objectContaining({ type: 'consumerFailed', group, topic, partition: r.partition, offset: r.offset, attempt: 1, during: 'handler', code: 'HANDLER_THREW' }))));
  });

  it('reports a runBatches() handler that acks its whole batch itself and then throws, once, naming the batch\'s first delivery', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('batch-threw');
    await ferry.createTopic(topic);
    await ferry.producer().publishMany(topic, Array.from({ length: 5 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>(fresh('g'), { topics: [topic], maxInFlight: 10 });
    const faults: ConsumerFault[] = [];
    consumer.onFault((f) => faults.push(f));
    const batches: Delivery<number>[][] = [];
    const running = consumer.runBatches(async (batch) => {
      batches.push(batch);
      await consumer.ackMany(batch);
      throw new Error('after the batch was acked');
    });
    await until(() => batches.flat().length >= 5 && faults.length >= batches.length, 10_000);
    await sleep(300); // nothing comes back: every ack stands
    await consumer.close();
    await running;
    expect(batches.flat().map((d) => d.value).sort()).toEqual([0, 1, 2, 3, 4]);
    // One fault per batch (not per delivery), at its first delivery. Before: none at all.
    expect(faults.map(shown)).toEqual(batches.map((b) => ({ during: 'handler', code: 'HANDLER_THREW', topic, partition: b[0]!.partition, offset: b[0]!.offset, attempt: 1, cause: 'after the batch was acked' })));
    expect(faults[0]!.error.message).toContain(`all ${batches[0]!.length} deliveries of its batch`);
  });

  it('reports a run() outcome refused because the handler outlived its lease (during: settle) with the message\'s offset and attempt', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const { consumer, faults, stale } = await oneShortLease(ferry, 'outlived', 'slow');
    const attempts: number[] = [];
    const running = consumer.run(async (d) => {
      attempts.push(d.attempt);
      if (d.attempt === 1) await sleep(800); // past its lease, no extend()
    });
    await until(() => faults.length > 0 && attempts.length >= 2, 10_000);
    await consumer.close();
    await running;
    expect(faults.map(shown)).toEqual([stale]);
  });

  it('an ack nobody awaits, refused because the lease ran out, is no unhandled rejection: onFault reports it once (the fast loop does not await acks)', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const { consumer, faults, stale } = await oneShortLease(ferry, 'unawaited', 'late');
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const d = await nextWithin(consumer, 5000);
      await sleep(800); // past its lease
      void d!.ack(); // not awaited
      await until(() => faults.length > 0, 5000);
      await sleep(50); // unhandled rejections are reported after a turn
    } finally {
      process.off('unhandledRejection', record);
    }
    await consumer.close({ timeoutMs: 0 });
    expect(unhandled).toEqual([]);
    expect(faults.map(shown)).toEqual([stale]);
  });

  it('extendMany extends every lease of a batch with one call, past ackTimeoutMs', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('extend-many');
    await ferry.createTopic(topic, { partitions: 2, ackTimeoutMs: 600 });
    await ferry.producer().publishMany(topic, Array.from({ length: 6 }, (_, i) => ({ value: i, key: `k${i}` })));
    const group = fresh('g');
    const consumer = ferry.consumer<number>(group, { topics: [topic], maxInFlight: 10 });
    const held: Delivery<number>[] = [];
    for (let i = 0; i < 6; i++) held.push((await nextWithin(consumer, 10_000))!);
    expect(new Set(held.map((d) => d.partition)).size).toBe(2); // both partitions' leases
    // Another member of the group, waiting: it would get a message whose lease ended.
    const other = ferry.consumer<number>(group, { topics: [topic] });
    const otherGot = nextWithin(other, 1700);
    for (let i = 0; i < 3; i++) {
      await sleep(350);
      await consumer.extendMany(held);
    }
    await consumer.ackMany(held); // 1050 ms after they were taken: past ackTimeoutMs, still leased
    expect(await otherGot).toBeUndefined();
    await consumer.extendMany([]);
    await Promise.all([consumer.close(), other.close()]);
  });

  it('extendMany refuses another consumer\'s delivery, a non-array and a bad ms with INVALID_ARGUMENT (nothing extended), and names a settled one in PARTLY_EXTENDED (the rest stay extended)', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('extend-many-refused');
    await ferry.createTopic(topic, { ackTimeoutMs: 600 });
    await ferry.producer().publishMany(topic, Array.from({ length: 4 }, (_, i) => ({ value: i })));
    const group = fresh('g');
    const consumer = ferry.consumer<number>(group, { topics: [topic], maxInFlight: 10 });
    const held: Delivery<number>[] = [];
    for (let i = 0; i < 3; i++) held.push((await nextWithin(consumer, 10_000))!);
    const other = ferry.consumer<number>(fresh('g'), { topics: [topic] });
    const foreign = (await nextWithin(other, 10_000))!;
    await expect(consumer.extendMany([...held, foreign])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('another consumer') });
    await expect(consumer.extendMany('all' as unknown as Delivery<number>[])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(consumer.extendMany(held, -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(consumer.ackMany([foreign])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await held[0]!.ack();
    const error = await consumer.extendMany(held).then(() => undefined, (e: unknown) => e as { code: string; failures: { delivery: Delivery; error: { code: string } }[] });
    expect(error?.code).toBe('PARTLY_EXTENDED');
    expect(error?.failures.map((f) => [f.delivery.offset, f.error.code])).toEqual([[held[0]!.offset, 'STALE_DELIVERY']]);
    await sleep(450);
    await consumer.extendMany(held.slice(1)); // still leased: 900 ms after they were taken
    await consumer.ackMany(held.slice(1));
    await foreign.ack();
    await Promise.all([consumer.close(), other.close()]);
  });

  it('keeps a useful lastError for a handler that throws undefined or a value JSON cannot write (a circular object), not null or "[object Object]" (a new-user trial)', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('odd-throws');
    await ferry.createTopic(topic, { maxDeliveries: 1 });
    await ferry.producer().publishMany(topic, [{ value: 'undefined' }, { value: 'rejects undefined' }, { value: 'circular' }]);
    const consumer = ferry.consumer<string>(fresh('g'), { topics: [topic], maxInFlight: 10 });
    const running = consumer.run(async (d) => {
      if (d.value === 'undefined') throw undefined;
      if (d.value === 'rejects undefined') return Promise.reject(undefined);
      const looped: Record<string, unknown> = { reason: 'loop' };
      looped['self'] = looped;
      throw looped;
    });
    const letters = ferry.consumer<string>(fresh('ops'), { topics: [`${topic}.dlq`] });
    const lastErrors = Object.fromEntries((await takeAll(letters, 3)).map((l) => [l.value, l.deadLetter?.lastError]));
    await Promise.all([consumer.close(), letters.close()]);
    await running;
    expect(lastErrors['undefined']).toMatch(/^undefined was thrown/);
    expect(lastErrors['rejects undefined']).toMatch(/^undefined was thrown/);
    expect(lastErrors['circular']).toContain("reason: 'loop'");
    expect(lastErrors['circular']).toContain('[Circular');
  });

  it('reports a run() handler that finishes after its lease ran out while close() waited as STALE_DELIVERY, as outside close (not CLOSED: close took nothing back)', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const { consumer, faults, stale } = await oneShortLease(ferry, 'outlived-close', 'slow');
    let started = false;
    let finished = false;
    const running = consumer.run(async () => {
      started = true;
      await sleep(800); // past its lease, no extend()
      finished = true;
    });
    await until(() => started, 10_000);
    await consumer.close({ timeoutMs: 2000 }); // outlasts the lease: the lease runs out first
    await running;
    await until(() => faults.length > 0, 2000);
    expect(finished).toBe(true);
    expect(faults.map(shown)).toEqual([stale]);
  });
}
