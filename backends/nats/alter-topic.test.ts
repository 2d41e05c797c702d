// ferry.alterTopic on NATS (issue 15, the embedded engine's alterTopic of issue 12): the options
// live in the stream, so an instance opened later reads them and one already open follows the
// servers' announcement; the stream's limits and the groups' AckWait follow them; a lease held
// elsewhere is shortened with the AckWait, so its late ack stays refused; what JetStream cannot
// hold is refused by name. A private nats-server; without one every test reports itself skipped.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { natsFixture } from '../../test-support/nats-fixture.ts';
import { streamName } from './mapping.ts';

const nats = natsFixture();
const open = nats.open;
/** A plain client, to read and stage the servers' config behind Ferry's back. */
let raw: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;

async function jsmOf(ctx: TestContext): Promise<JetStreamManager> {
  raw ??= connect({ servers: nats.server(ctx).servers }).then(async (nc) => ({ nc, jsm: await jetstreamManager(nc) }));
  return (await raw).jsm;
}

afterAll(async () => {
  await (await raw)?.nc.close(); // before the fixture stops the server
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MS = 1_000_000;

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !(await check()); await sleep(20)) if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
}

describe('ferry.alterTopic() on NATS', () => {
  it('writes the stream (description, max_age, max_bytes, duplicate_window) and every group\'s AckWait; a later instance reads it', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('alter-config', { partitions: 2 });
    const unordered = ferry.consumer('billing', { topics: ['alter-config'] });
    const ordered = ferry.consumer('audit', { topics: ['alter-config'], ordering: 'key' });
    await ferry.producer().publish('alter-config', { value: 1 });
    await (await unordered.next())!.ack();
    await (await ordered.next())!.ack();
    await Promise.all([unordered.close(), ordered.close()]);
    const next = await ferry.alterTopic('alter-config', { ackTimeoutMs: 4000, retention: { ms: 60_000, bytes: 1 << 20 }, dedupWindowMs: 5000, maxDeliveries: 7 });
    expect(next).toMatchObject({ ackTimeoutMs: 4000, retention: { ms: 60_000, bytes: 1 << 20 }, dedupWindowMs: 5000, maxDeliveries: 7 });
    const stream = await (await jsmOf(ctx)).streams.info(streamName('alter-config'));
    expect(stream.config).toMatchObject({ max_age: 60_000 * MS, max_bytes: 1 << 20, duplicate_window: 5000 * MS });
    const waits: Record<string, number> = {};
    for await (const c of (await jsmOf(ctx)).consumers.list(streamName('alter-config'))) waits[c.name] = c.config.ack_wait!;
    expect(waits).toEqual({ billing: 4000 * MS, 'audit~p0': 4000 * MS, 'audit~p1': 4000 * MS });

    const later = await open(ctx); // as another process starting now
    expect(later.topics().find((t) => t.name === 'alter-config')?.options).toEqual(next);
  });

  it('an instance already open follows the change, and a lease it holds is shortened with the AckWait (its late ack refused)', async (ctx) => {
    const a = await open(ctx);
    const b = await open(ctx); // another process, open before the change
    await a.createTopic('alter-follow', { maxDeliveries: 5, ackTimeoutMs: 3000 });
    await b.createTopic('alter-follow');
    await b.producer().publish('alter-follow', { value: 'long job' });
    const consumer = b.consumer('workers', { topics: ['alter-follow'] });
    const held = (await consumer.next())!; // a lease of 3 s
    const changedAt = Date.now();
    await a.alterTopic('alter-follow', { ackTimeoutMs: 500, maxDeliveries: 2 });
    await until('b sees the new options', () => b.topics().find((t) => t.name === 'alter-follow')?.options.ackTimeoutMs === 500);
    expect(b.topics().find((t) => t.name === 'alter-follow')?.options.maxDeliveries).toBe(2);
    // The server may redeliver it from 500 ms on (it checks a pending message against the AckWait
    // of now, when the timer set under the old one fires): b's copy must not be acked after that.
    await sleep(Math.max(0, changedAt + 600 - Date.now()));
    await expect(held.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    const again = await consumer.next();
    expect(again).toMatchObject({ value: 'long job', attempt: 2, offset: held.offset });
    await again!.nack({ delayMs: 10 }); // attempt 2 of maxDeliveries 2 (read from the new options): dead-lettered
    const letters = b.consumer('ops', { topics: ['alter-follow.dlq'] });
    const letter = await letters.next();
    expect(letter?.deadLetter).toMatchObject({ topic: 'alter-follow', attempts: 2 });
    await letter!.ack();
    await Promise.all([consumer.close({ timeoutMs: 0 }), letters.close()]);
  });

  it('a group joining puts right an AckWait that an interrupted alterTopic left behind', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('alter-join', { ackTimeoutMs: 2000 });
    const first = ferry.consumer('g', { topics: ['alter-join'] });
    await ferry.producer().publish('alter-join', { value: 1 });
    await (await first.next())!.ack();
    await first.close();
    // As if a crash came after the stream's update and before its groups'.
    await (await jsmOf(ctx)).consumers.update(streamName('alter-join'), 'g', { ack_wait: 30_000 * MS });
    const second = ferry.consumer('g', { topics: ['alter-join'] });
    await ferry.producer().publish('alter-join', { value: 2 });
    await (await second.next())!.ack();
    expect((await (await jsmOf(ctx)).consumers.info(streamName('alter-join'), 'g')).config.ack_wait).toBe(2000 * MS);
    await second.close();
  });

  it('refuses by name what JetStream cannot hold (a window under 100 ms), changing nothing; dedupWindowMs 0 is taken', async (ctx) => {
    const ferry = await open(ctx);
    // Before: the stream's 1 ms window was refused by the server as BACKEND_REQUEST_FAILED.
    await ferry.createTopic('alter-floor', { dedupWindowMs: 0 });
    await expect(ferry.createTopic('alter-floor-2', { dedupWindowMs: 50 })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('100 ms') });
    expect(ferry.topics().map((t) => t.name)).not.toContain('alter-floor-2.dlq'); // refused before its dead-letter topic was made
    const before = ferry.topics().find((t) => t.name === 'alter-floor')!.options;
    await expect(ferry.alterTopic('alter-floor', { retention: { ms: 50 } })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('retention.ms') });
    await expect(ferry.alterTopic('alter-floor', { dedupWindowMs: 99 })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect(ferry.topics().find((t) => t.name === 'alter-floor')!.options).toEqual(before);
    const stream = await (await jsmOf(ctx)).streams.info(streamName('alter-floor'));
    expect(JSON.parse(stream.config.description!).options).toEqual(before);
  });
});
