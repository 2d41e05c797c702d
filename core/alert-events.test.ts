// Each alert event, caused and heard (issue 12 §Alert events). In-thread, on the memory disk and
// the manual clock (events are collected by a poll that the clock drives); the shard events run
// on a worker thread.
import { describe, expect, it } from 'vitest';
import { flush, halfThenCrash, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';
import { realFerry } from '../test-support/real-ferry.ts';
import type { FerryEventMap, FerryEventName } from './engine-events.ts';
import type { Ferry } from './ferry.ts';

/** Records every event of the given names. */
function hear<K extends FerryEventName>(ferry: Ferry, ...names: K[]): FerryEventMap[K][] {
  const heard: FerryEventMap[K][] = [];
  for (const name of names) ferry.on(name, (e) => heard.push(e));
  return heard;
}

describe('alert events', () => {
  it('deadLettered and maxDeliveriesReached carry names, offsets, attempts and the error, never the body; the poll timer delivers them', async () => {
    const setup = memoryFerry(21);
    const ferry = await setup.open({ alerts: { pollMs: 500 } });
    await ferry.createTopic('t', { maxDeliveries: 1 });
    const heard = hear(ferry, 'deadLettered', 'maxDeliveriesReached');
    await ferry.producer().publish('t', { value: { secret: 'card 4111' } });
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ error: 'card declined' });
    await flush();
    expect(heard).toEqual([]); // not before the poll
    setup.clock.advance(500);
    await flush();
    expect(heard.map((e) => e.type).sort()).toEqual(['deadLettered', 'maxDeliveriesReached']);
    expect(heard.find((e) => e.type === 'deadLettered')).toMatchObject({ topic: 't', partition: 0, group: 'g', offset: 0, attempts: 1, deadLetterTopic: 't.dlq', lastError: 'card declined' });
    expect(JSON.stringify(heard)).not.toContain('4111');
    await ferry.close({ timeoutMs: 0 });
  });

  it('leaseExpired when a held message outlives its lease', async () => {
    const setup = memoryFerry(22);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000 });
    const heard = hear(ferry, 'leaseExpired');
    await ferry.producer().publish('t', { value: 1 });
    const c = ferry.consumer('g', { topics: ['t'] });
    await c.next();
    await flush(); // the handler's start reaches the partition: from now on an expiry is charged
    setup.clock.advance(1500);
    await c.next();
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'leaseExpired', topic: 't', partition: 0, group: 'g', offset: 0, attempt: 1 })]);
    await ferry.close({ timeoutMs: 0 });
  });

  it('redeliveryStorm past alerts.redeliveriesPerSecond, measured between polls', async () => {
    const setup = memoryFerry(23);
    const ferry = await setup.open({ alerts: { redeliveriesPerSecond: 2 } });
    await ferry.createTopic('t', { maxDeliveries: 100, backoff: { kind: 'fixed', delayMs: 0 } });
    const heard = hear(ferry, 'redeliveryStorm');
    await ferry.producer().publish('t', { value: 1 });
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.ack().catch(() => {});
    await ferry.producer().publishMany('t', [2, 3, 4, 5, 6].map((value) => ({ value })));
    await ferry.pollEvents(); // the baseline
    for (let i = 0; i < 5; i++) await (await c.next())!.nack();
    setup.clock.advance(1000);
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'redeliveryStorm', topic: 't', group: 'g', redeliveries: 5, threshold: 2 })]);
    await ferry.pollEvents(); // no new redeliveries: no storm
    expect(heard).toHaveLength(1);
    await ferry.close({ timeoutMs: 0 });
  });

  it('lagHigh over alerts.lagMessages, once, then lagRecovered once the group caught up', async () => {
    const setup = memoryFerry(24);
    const ferry = await setup.open({ alerts: { lagMessages: 2 } });
    await ferry.createTopic('t');
    const heard = hear(ferry, 'lagHigh', 'lagRecovered');
    const c = ferry.consumer('g', { topics: ['t'] });
    const first = pendingNext(c);
    await flush();
    await ferry.producer().publishMany('t', [1, 2, 3].map((value) => ({ value })));
    await ferry.pollEvents();
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'lagHigh', topic: 't', group: 'g', lag: 3 })]);
    await flush();
    await first.value!.ack();
    await (await c.next())!.ack();
    await (await c.next())!.ack();
    await flush();
    await ferry.pollEvents();
    expect(heard.map((e) => e.type)).toEqual(['lagHigh', 'lagRecovered']);
    expect(heard[1]).toMatchObject({ lag: 0 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('lagHigh by age, over alerts.lagAgeMs', async () => {
    const setup = memoryFerry(25);
    const ferry = await setup.open({ alerts: { lagAgeMs: 10_000, stalledAfterMs: 1e9 } });
    await ferry.createTopic('t');
    pendingNext(ferry.consumer('g', { topics: ['t'] }));
    const heard = hear(ferry, 'lagHigh');
    await ferry.producer().publish('t', { value: 1 });
    await flush();
    await ferry.pollEvents();
    expect(heard).toEqual([]);
    setup.clock.advance(10_001);
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'lagHigh', lag: 1, lagAgeMs: 10_001 })]);
    await ferry.close({ timeoutMs: 0 });
  });

  it('consumerStalled when a group with backlog settles nothing for alerts.stalledAfterMs', async () => {
    const setup = memoryFerry(26);
    const ferry = await setup.open({ alerts: { stalledAfterMs: 5000 } });
    await ferry.createTopic('t', { ackTimeoutMs: 600_000 });
    const heard = hear(ferry, 'consumerStalled');
    await ferry.producer().publishMany('t', [1, 2].map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.ack();
    await c.next(); // held, never settled
    await ferry.pollEvents();
    setup.clock.advance(4000);
    await ferry.pollEvents();
    expect(heard).toEqual([]);
    setup.clock.advance(1000);
    await ferry.pollEvents();
    await ferry.pollEvents(); // once per stall
    expect(heard).toEqual([expect.objectContaining({ type: 'consumerStalled', topic: 't', group: 'g', lag: 1, stalledForMs: 5000 })]);
    await ferry.close({ timeoutMs: 0 });
  });

  it('diskFull when a publish finds no room (the producer retries it), and consumerFailed when a consumer cannot join', async () => {
    const setup = memoryFerry(27);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const heard = hear(ferry, 'diskFull', 'consumerFailed');
    setup.fs.faults.copyOnWrite = true; // the logs' appends into their zero-filled space need room too
    setup.fs.faults.capacityBytes = 0;
    setup.fs.faults.capacityBytes = -setup.fs.freeBytes();
    const published = ferry.producer().publish('t', { value: 1 }); // retried by the producer
    const c = ferry.consumer('g', { topics: ['t'] });
    const next = pendingNext(c);
    await flush();
    await ferry.pollEvents();
    expect(heard.filter((e) => e.type === 'diskFull')).toEqual([expect.objectContaining({ topic: 't', partition: 0, code: 'DISK_FULL' })]);
    expect(heard.find((e) => e.type === 'consumerFailed')).toMatchObject({ group: 'g', topic: 't', partition: 0, during: 'join', code: 'DISK_FULL' });
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    setup.clock.advance(10_000);
    await published;
    await flush();
    setup.clock.advance(10_000);
    await flush();
    expect(next.value).toMatchObject({ value: 1 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('fsyncFailed once per failed partition log', async () => {
    const setup = memoryFerry(28);
    const ferry = await setup.open({ fsync: 'always' });
    await ferry.createTopic('t');
    const heard = hear(ferry, 'fsyncFailed');
    setup.fs.failNextSyncs(1);
    await expect(ferry.producer().publish('t', { value: 1 })).rejects.toMatchObject({ code: 'FSYNC_FAILED' });
    await ferry.pollEvents();
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'fsyncFailed', topic: 't', partition: 0, code: 'FSYNC_FAILED' })]);
    await ferry.close({ timeoutMs: 0 });
  });

  it('retentionBlocked once when a checkpoint fails (a full disk at the retention check), counted in the metrics', async () => {
    const setup = memoryFerry(32);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    const heard = hear(ferry, 'retentionBlocked');
    setup.fs.faults.copyOnWrite = true; // the logs' appends into their zero-filled space need room too
    setup.fs.faults.capacityBytes = 0;
    setup.fs.faults.capacityBytes = -setup.fs.freeBytes();
    setup.clock.advance(60_000); // the retention check writes a checkpoint first: no room
    await flush();
    await ferry.pollEvents();
    await ferry.pollEvents();
    // Once per partition across both polls (the dead-letter topic's partition is blocked too).
    expect(heard.filter((e) => e.topic === 't')).toEqual([expect.objectContaining({ type: 'retentionBlocked', topic: 't', partition: 0, reason: expect.stringContaining('checkpoint') })]);
    expect(new Set(heard.map((e) => e.topic)).size).toBe(heard.length);
    expect((await ferry.metrics()).engine.retentionBlocked).toBeGreaterThanOrEqual(1);
    setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    await ferry.close({ timeoutMs: 0 });
  });

  it('tornTailCut after a restart that cut a torn write, with the bytes dropped, also in the metrics', async () => {
    const setup = memoryFerry(29);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    await ferry.close({ timeoutMs: 0 });
    const segment = '/ferry/topics/t/0/00000000000000000000.log';
    const handle = setup.fs.open(segment, 'readwrite');
    handle.writev([new Uint8Array(30).fill(0x46)], setup.fs.fileSizes(segment)!.cached);
    handle.close();
    ferry = await setup.open();
    const heard = hear(ferry, 'tornTailCut');
    await ferry.pollEvents();
    expect(heard).toEqual([expect.objectContaining({ type: 'tornTailCut', topic: 't', partition: 0, kind: 'torn-tail', droppedBytes: 30, atOffset: 1 })]);
    expect((await ferry.metrics()).engine.recoveryCutBytes).toBe(30);
    await ferry.close({ timeoutMs: 0 });
  });

  it('events raised before the first listener are not delivered; a listener that throws breaks neither the engine nor the other listeners', async () => {
    const setup = memoryFerry(30);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [1, 2].map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack();
    await flush();
    setup.clock.advance(1);
    ferry.on('deadLettered', () => {
      throw new Error('listener bug');
    });
    const heard = hear(ferry, 'deadLettered');
    setup.clock.advance(1);
    await (await c.next())!.nack();
    await flush();
    await ferry.pollEvents();
    expect(heard.map((e) => e.offset)).toEqual([1]);
    await ferry.producer().publish('t', { value: 3 }); // the engine goes on
    expect(() => ferry.on('nope' as never, () => {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await ferry.close({ timeoutMs: 0 });
  });

  it('refuses a 101st listener of one event with OVERLOADED; the function on() returned removes one', async () => {
    const setup = memoryFerry(31);
    const ferry = await setup.open();
    const offs = Array.from({ length: 100 }, () => ferry.on('lagHigh', () => {}));
    expect(() => ferry.on('lagHigh', () => {})).toThrow(expect.objectContaining({ code: 'OVERLOADED' }));
    offs[0]!();
    expect(() => ferry.on('lagHigh', () => {})).not.toThrow();
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('the checkBackFailed alert (issue 13)', () => {
  it('is raised at each failed try of resolveInDoubt, with the transaction, the error and the next try, and no more once it answers', async () => {
    const setup = memoryFerry(31);
    await halfThenCrash(setup, 'order-5', { card: '4111' }, 'power');
    let answer: 'commit' | undefined;
    const ferry = await setup.open({
      resolveInDoubt: () => {
        if (!answer) throw Object.assign(new Error('database unreachable'), { code: 'ECONNREFUSED' });
        return answer;
      },
    });
    const heard = hear(ferry, 'checkBackFailed');
    await flush();
    setup.clock.advance(100); // the second try, after its backoff
    await flush();
    expect(heard.length).toBeGreaterThan(0);
    const last = heard.at(-1)!;
    expect(last).toMatchObject({ type: 'checkBackFailed', transactionId: 'order-5', code: 'ECONNREFUSED', message: 'database unreachable', tries: 2, retryInMs: 200 });
    expect(JSON.stringify(heard)).not.toContain('4111');
    answer = 'commit';
    const before = heard.length;
    setup.clock.advance(200);
    await flush();
    setup.clock.advance(60_000);
    await flush();
    expect(heard).toHaveLength(before); // answered: no more alerts
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('alert events with worker threads', () => {
  it('shardRestarted when a worker dies and comes back, shardFailed once its restart budget is spent', async () => {
    const real = realFerry(1, { maxRestarts: 1, windowMs: 60_000, backoffMs: 10 });
    const ferry = await real.open();
    try {
      await ferry.createTopic('t');
      const heard = hear(ferry, 'shardRestarted', 'shardFailed');
      await ferry.pollEvents();
      await real.runtime!.killShard(0);
      await ferry.pollEvents();
      expect(heard).toEqual([expect.objectContaining({ type: 'shardRestarted', shard: 0, restarts: 1 })]);
      await ferry.producer().publish('t', { value: 1 }); // it is back
      await real.runtime!.killShard(0);
      await ferry.pollEvents();
      expect(heard.map((e) => e.type)).toEqual(['shardRestarted', 'shardFailed']);
    } finally {
      await ferry.close();
      real.cleanup();
    }
  });
});
