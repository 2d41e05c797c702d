// What the NATS backend refuses, shares and survives (issue 15), on a private nats-server: features
// NATS cannot give are UNSUPPORTED (never silently weaker); topic options and group orderings live
// in the servers, so another instance sees them; a slow consumer holds at most maxInFlight; a server
// lost mid-run is reconnected to, and nothing confirmed is lost.
import { describe, expect, it } from 'vitest';
import { Ferry } from '../../index.ts';
import { natsFixture } from '../../test-support/nats-fixture.ts';
import { letterId } from './dead-letter.ts';
import { subjectOf } from './mapping.ts';
import { encodePayload } from './payload.ts';

const nats = natsFixture();
const open = nats.open;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the NATS backend', () => {
  it('refuses what NATS cannot do with UNSUPPORTED, saying what to do instead', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('unsupported', { ackTimeoutMs: 1000 });
    expect(() => ferry.producer({ id: 'billing' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringContaining('fence') }));
    expect(() => ferry.producer({ maxBatchMessages: 10 })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    await expect(ferry.producer().publish('unsupported', { value: 1, delayMs: 50 })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(ferry.producer().publish('unsupported', { value: 1, id: 'ferry~mine' })).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    await expect(ferry.producer().publish('no/path', { value: 1 })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await ferry.producer().publish('unsupported', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['unsupported'] });
    const d = await consumer.next();
    await expect(d!.extend(5000)).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(consumer.extendMany([d!], 5000)).rejects.toMatchObject({ code: 'UNSUPPORTED' }); // before any +WPI is sent
    await d!.extend(500); // within AckWait: fine
    await d!.ack();
    await expect(d!.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    // No transactions, so no exactlyOnce run (its types refuse it too: core/run-handler-types.test.ts).
    const untypedRun = consumer.run.bind(consumer) as (handler: () => void, options: object) => Promise<void>;
    await expect(untypedRun(() => {}, { exactlyOnce: true })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('exactlyOnce') });
    await consumer.close();
    // The embedded engine's admin, browsing and transactions: typed refusals, not a TypeError from JavaScript.
    const untyped = ferry as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const method of ['deleteTopic', 'read', 'inspect', 'resetGroup', 'describe', 'describeTopic', 'describeGroup', 'transaction', 'beginTransaction']) {
      await expect(untyped[method]!.call(ferry, 'unsupported', 0, 0), method).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('nats backend') });
    }
  });

  it('reports a request the servers refuse as BACKEND_REQUEST_FAILED, with their reason', async (ctx) => {
    const ferry = await open(ctx, { replicas: 3 });
    // One server cannot hold three replicas.
    const error = await ferry.createTopic('three-copies').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND_REQUEST_FAILED', retriable: false });
    expect((error as Error).message).toMatch(/replicas|resources|cluster/i);
  });

  it('stores one dead letter when a crashed process had already published it (TERM lost)', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('crashy', { maxDeliveries: 1 });
    await ferry.producer().publish('crashy', { value: 'poison' });
    const consumer = ferry.consumer('crashy-group', { topics: ['crashy'] });
    const d = await consumer.next();
    // What a process that crashed between the letter's PubAck and the TERM left behind.
    const { connect } = await import('@nats-io/transport-node');
    const { jetstream } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: nats.server(ctx).servers });
    try {
      const ack = await jetstream(nc).publish(subjectOf('crashy.dlq', 0), encodePayload({ value: 'poison', headers: undefined, key: undefined, id: undefined, deadLetter: undefined, onlyGroup: undefined }), { msgID: letterId('crashy', d!.offset, 'crashy-group') });
      expect(ack.duplicate).toBe(false);
    } finally {
      await nc.close();
    }
    await d!.nack({ error: 'boom' }); // this process dead-letters it again: the same letter id
    const letters = ferry.consumer('ops', { topics: ['crashy.dlq'] });
    expect((await letters.next())?.value).toBe('poison');
    const more = await Promise.race([letters.next(), sleep(800).then(() => 'none')]);
    expect(more).toBe('none');
    await Promise.all([consumer.close(), letters.close({ timeoutMs: 0 })]);
  });

  it('keeps topic options and group ordering in the servers: another instance sees them', async (ctx) => {
    const a = await open(ctx);
    await a.createTopic('shared', { partitions: 3, maxDeliveries: 7 });
    const b = await open(ctx);
    expect(b.topics().find((t) => t.name === 'shared')?.options).toMatchObject({ partitions: 3, maxDeliveries: 7 });
    await b.createTopic('shared'); // takes it as it is
    await b.createTopic('shared', { partitions: 3, maxDeliveries: 7 });
    await expect(b.createTopic('shared', { partitions: 4, maxDeliveries: 7 })).rejects.toMatchObject({ code: 'TOPIC_CONFLICT' });
    await expect(b.producer().publish('nowhere', { value: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });

    const ordered = a.consumer('ordered-group', { topics: ['shared'], ordering: 'key' });
    await a.producer().publish('shared', { value: 1, key: 'k' });
    await (await ordered.next())!.ack();
    const unordered = b.consumer('ordered-group', { topics: ['shared'] });
    await expect(unordered.next()).rejects.toMatchObject({ code: 'GROUP_CONFLICT' });
    await expect(a.deleteGroup('ordered-group')).rejects.toMatchObject({ code: 'GROUP_IN_USE' });
    await ordered.close();
    await unordered.close();
    expect(await a.deleteGroup('ordered-group', { topics: ['shared'] })).toEqual(['shared']);
    await expect(a.deleteGroup('ordered-group', { topics: ['shared'] })).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' }); // gone: nothing to delete
    // Deleted: a new member starts again from the beginning.
    const again = b.consumer('ordered-group', { topics: ['shared'] });
    expect((await again.next())?.value).toBe(1);
    await again.close({ timeoutMs: 0 });
  });

  it('holds at most maxInFlight unacked messages for a consumer that does not keep up', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('slow', { partitions: 2 });
    await ferry.producer().publishMany('slow', Array.from({ length: 200 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('slow-group', { topics: ['slow'], maxInFlight: 5 });
    const first = await consumer.next(); // starts the pulls, then handles nothing for a while
    await sleep(1500);
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: nats.server(ctx).servers });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info('ferry_slow', 'slow-group');
      expect(info.num_ack_pending).toBeLessThanOrEqual(5);
      expect(info.num_ack_pending).toBeGreaterThan(0);
    } finally {
      await nc.close();
    }
    await first!.ack();
    await consumer.close({ timeoutMs: 0 });
  });

  it('reconnects after the server is lost mid-run and delivers every confirmed message', async (ctx) => {
    const ferry = await open(ctx);
    await ferry.createTopic('outage', { partitions: 2, ackTimeoutMs: 1500 });
    const consumer = ferry.consumer<number>('outage-group', { topics: ['outage'] });
    const seen = new Set<number>();
    const run = consumer.run((d) => void seen.add(d.value), { concurrency: 4 });
    const producer = ferry.producer({ deliveryTimeoutMs: 20_000 });
    const confirmed: number[] = [];
    const publishing = (async () => {
      for (let i = 0; i < 60; i++) {
        confirmed.push((await producer.publish('outage', { value: i }), i));
        await sleep(10);
      }
    })();
    await sleep(200);
    const node = nats.server(ctx).nodes[0]!;
    await node.stop('SIGKILL');
    await sleep(500);
    await node.restart();
    await publishing; // the publishes during the outage were retried and confirmed
    const deadline = Date.now() + 20_000;
    while (confirmed.some((i) => !seen.has(i)) && Date.now() < deadline) await sleep(50);
    await consumer.close();
    await run;
    expect(confirmed).toHaveLength(60);
    expect(confirmed.filter((i) => !seen.has(i))).toEqual([]);
  });

  it('closes within its deadlines while the server is down, and refuses work after', async (ctx) => {
    const ferry = await Ferry.open({ backend: { kind: 'nats', servers: nats.server(ctx).servers, requestTimeoutMs: 1000 } }); // closed by the test itself
    await ferry.createTopic('down', { ackTimeoutMs: 1000 });
    const consumer = ferry.consumer('down-group', { topics: ['down'] });
    void consumer.next();
    await sleep(200);
    const node = nats.server(ctx).nodes[0]!;
    await node.stop('SIGKILL');
    try {
      const started = Date.now();
      await ferry.close();
      expect(Date.now() - started).toBeLessThan(6000);
      expect(() => ferry.producer()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    } finally {
      await node.restart();
    }
  });
});
