// Batches (issue 11): `runBatches` hands a handler what is ready now, up to maxBatchSize, and
// settles the batch as one (resolve: ack each, throw: nack each); `ackMany` acks many deliveries
// with one promise and says exactly which it could not ack.
import { afterEach, describe, expect, it } from 'vitest';
import { engineHarness, engineVariants } from '../test-support/engine-harness.ts';
import type { Delivery } from './delivery.ts';
import { PartlySettledError } from './errors.ts';
import type { Ferry } from './ferry.ts';

async function withMessages(ferry: Ferry, count: number, partitions = 2): Promise<void> {
  await ferry.createTopic('t', { partitions, backoff: { kind: 'fixed', delayMs: 1 } });
  await ferry.producer().publishMany('t', Array.from({ length: count }, (_, i) => ({ value: i })));
}

describe.each(engineVariants)('batches ($name)', (variant) => {
  const engine = engineHarness(variant);
  afterEach(engine.cleanup);

  it('runBatches hands batches of what is ready, at most maxBatchSize, and acks each delivery of a batch that resolves', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 250);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 200 });
    const sizes: number[] = [];
    const seen: number[] = [];
    const running = consumer.runBatches(
      (batch) => {
        sizes.push(batch.length);
        for (const d of batch) seen.push(d.value);
      },
      { maxBatchSize: 40 },
    );
    await setup.eventually(() => seen.length >= 250);
    await setup.settle();
    await consumer.close();
    await running;
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(250).keys()]); // each once: none redelivered
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40);
    expect(Math.max(...sizes)).toBeGreaterThan(1); // a batch, not one at a time
    const group = await ferry.describeGroup('g');
    expect(group.topics[0]).toMatchObject({ acked: 250, lag: 0 });
  });

  it('a batch handler that throws nacks each delivery it did not settle, with its error; one it settled itself stays settled', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 6, 1);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 6 });
    const attempts = new Map<number, number[]>();
    let failed: number[] | undefined; // the values of the batch that threw
    const running = consumer.runBatches(async (batch) => {
      for (const d of batch) attempts.set(d.value, [...(attempts.get(d.value) ?? []), d.attempt]);
      if (failed) return;
      failed = batch.map((d) => d.value);
      await batch[0]!.ack(); // settled by the handler: not nacked with the rest
      throw new Error('the batch failed');
    });
    const allBack = (): boolean => failed !== undefined && failed.slice(1).every((v) => attempts.get(v)?.length === 2);
    for (let i = 0; i < 40 && !allBack(); i++) await setup.elapse(5); // the 1 ms backoff, on either clock
    await setup.eventually(allBack);
    await setup.settle();
    await consumer.close();
    await running;
    // Each message of the failing batch but the one it acked came back once, with attempt 2; the rest came once.
    for (let v = 0; v < 6; v++) expect(attempts.get(v)).toEqual(failed!.includes(v) && v !== failed![0] ? [1, 2] : [1]);
    expect(failed!.length).toBeGreaterThan(1); // one fetch's messages at least (all 6 on one pump)
    const history = await ferry.inspect('t', 0, failed![1]!); // value i is at offset i
    expect(JSON.stringify(history)).toContain('the batch failed');
  });

  it('a handler that empties or splices its batch (a chunking loop) still has every delivery acked (new-user trial: all were dead-lettered)', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 30, 1);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 100 });
    const written: number[] = [];
    const running = consumer.runBatches((batch) => {
      while (batch.length > 0) written.push(...batch.splice(0, 7).map((d) => d.value));
    });
    await setup.eventually(() => written.length >= 30);
    await setup.settle();
    await consumer.close();
    await running;
    expect((await ferry.describeGroup('g')).topics[0]).toMatchObject({ acked: 30, lag: 0 });
  });

  it('run() and runBatches() on a closed consumer reject CLOSED; null or array options INVALID_ARGUMENT', async () => {
    const ferry = await engine.setup().open();
    await withMessages(ferry, 1);
    const consumer = ferry.consumer('g', { topics: ['t'] });
    for (const options of [null, []]) {
      await expect(consumer.runBatches(() => {}, options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(consumer.run(() => {}, options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await consumer.close({ timeoutMs: 0 });
    await expect(consumer.run(() => {})).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(consumer.runBatches(() => {})).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses bad runBatches options and handlers with INVALID_ARGUMENT', async () => {
    const ferry = await engine.setup().open();
    await withMessages(ferry, 1);
    const consumer = ferry.consumer('g', { topics: ['t'] });
    for (const options of [{ maxBatchSize: 0 }, { maxBatchSize: 10_001 }, { maxBatchSize: 1.5 }, { concurrency: 0 }, { exactlyOnce: true }, { batch: 10 }]) {
      await expect(consumer.runBatches(() => {}, options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(consumer.runBatches('handler' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await consumer.close({ timeoutMs: 0 });
  });

  it('ackMany acks many deliveries with one promise', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 30, 1);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 100 }); // one fetch takes all
    const held: Delivery<number>[] = [];
    for (let i = 0; i < 30; i++) held.push((await consumer.next())!);
    await consumer.ackMany(held);
    expect((await ferry.describeGroup('g')).topics[0]).toMatchObject({ acked: 30, lag: 0 });
    await consumer.ackMany([]);
    await consumer.close({ timeoutMs: 0 });
  });

  it('ackMany with a delivery it cannot ack acks the others and rejects PARTLY_SETTLED naming exactly that one', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 5, 1);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 100 });
    const held: Delivery<number>[] = [];
    for (let i = 0; i < 5; i++) held.push((await consumer.next())!);
    await held[2]!.ack();
    const error = await consumer.ackMany(held).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PartlySettledError);
    const failures = (error as PartlySettledError).failures;
    expect(failures.map((f) => f.delivery.offset)).toEqual([held[2]!.offset]);
    expect(failures[0]!.error).toMatchObject({ code: 'STALE_DELIVERY' });
    expect((error as PartlySettledError).message).toMatch(/1 of 5 acks failed/);
    expect(JSON.stringify(error)).not.toContain(String((held[1] as unknown as { token: number }).token)); // a logger does not dump every delivery and lease
    expect((await ferry.describeGroup('g')).topics[0]).toMatchObject({ acked: 5, lag: 0 });
    await consumer.close({ timeoutMs: 0 });
  });

  it('ackMany refuses what is not an array of deliveries with INVALID_ARGUMENT, acking nothing', async () => {
    const setup = engine.setup();
    const ferry = await setup.open();
    await withMessages(ferry, 1, 1);
    const consumer = ferry.consumer<number>('g', { topics: ['t'] });
    const d = (await consumer.next())!;
    await expect(consumer.ackMany('x' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(consumer.ackMany([d, 42] as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const other = ferry.consumer<number>('other', { topics: ['t'] });
    const theirs = (await other.next())!;
    await expect(consumer.ackMany([d, theirs])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/another consumer/) });
    await theirs.ack(); // nothing was acked above: still leased to its own consumer
    await other.close({ timeoutMs: 0 });
    await d.ack(); // still leased to us: nothing was acked above
    await consumer.close({ timeoutMs: 0 });
  });
});
