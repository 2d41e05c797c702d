// The conformance suite's metrics and events part (issue 15 with issue 12): the same figures and
// alert events on every backend, where the backend can give them. Counters are the instance's own
// (the embedded engine is one instance; on NATS they are this process's); the gauges (in flight,
// lag) are the group's. Called inside describeConformance, with its way to reach the backend.
import { expect, it, type TestContext } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { FerryEventMap } from '../index.ts';
import { fresh, nextWithin, sleep, takeAll } from './conformance-helpers.ts';
import type { ConformanceFeatures, FerryApi, MetricsApi } from './conformance-suite.ts';

type Figures = MetricsApi['groups'][number];

/** Takes snapshots until `check` holds for the group (counts of asynchronous moves, such as a dead letter, land a little later). */
async function groupFigures(ferry: FerryApi, group: string, topic: string, check: (g: Figures) => boolean, ms = 10_000): Promise<{ m: MetricsApi; g: Figures }> {
  const until = Date.now() + ms;
  for (;;) {
    const m = await ferry.metrics();
    const g = m.groups.find((x) => x.group === group && x.topic === topic);
    if ((g && check(g)) || Date.now() > until) {
      expect(g, `group ${group} on ${topic} in the snapshot`).toBeDefined();
      return { m, g: g! };
    }
    await sleep(50);
  }
}

/** Polls events until `check` holds (or `ms` passed). */
async function pollUntil(ferry: FerryApi, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) {
    await ferry.pollEvents();
    if (!check()) await sleep(50);
  }
}

export function describeMetricsConformance(ferryFor: (ctx: TestContext) => Promise<FerryApi>, features: ConformanceFeatures): void {
  it('counts publishes, duplicates, deliveries, acks, nacks, redeliveries and dead letters, with in flight and lag, in metrics() and metricsText()', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('metrics');
    await ferry.createTopic(topic, { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 0 } });
    const producer = ferry.producer();
    await producer.publishMany(topic, [{ value: 1 }, { value: 2 }, { value: 3, id: 'm-3' }]);
    expect(await producer.publish(topic, { value: 'again', id: 'm-3' })).toMatchObject({ duplicate: true });
    const group = fresh('g');
    const c = ferry.consumer<number>(group, { topics: [topic], maxInFlight: 1 });
    let acked = 0;
    let dead = false;
    while (acked < 2 || !dead) {
      const d = await nextWithin(c, 10_000);
      if (!d) throw new Error(`deliveries stopped: ${acked} acked, dead-lettered: ${dead}`);
      if (d.value !== 1) {
        await d.ack();
        acked++;
      } else {
        await d.nack({ error: new Error('boom') }); // the second (last) attempt's nack dead-letters it
        dead = d.attempt === 2;
      }
    }
    const { g } = await groupFigures(ferry, group, topic, (x) => x.deadLettered === 1 && x.lag === 0);
    expect(g).toMatchObject({ delivered: 4, acked: 2, nacked: 2, redeliveredAfterNack: 1, redeliveredAfterLeaseExpiry: 0, leasesExpired: 0, deadLettered: 1, inFlight: 0, lag: 0, lagAgeMs: 0 });

    await producer.publish(topic, { value: 4 });
    const held = (await nextWithin(c, 10_000))!;
    expect(held.value).toBe(4);
    const holding = await groupFigures(ferry, group, topic, (x) => x.inFlight === 1);
    expect(holding.g).toMatchObject({ inFlight: 1, lag: 1 });
    expect(holding.g.lagAgeMs).toBeGreaterThanOrEqual(0);
    const t = holding.m.topics.find((x) => x.topic === topic);
    expect(t).toMatchObject({ published: 4, duplicates: 1 });
    expect(holding.m.engine.confirm.count).toBeGreaterThan(0);
    expect(holding.m.unavailable).toEqual([]);
    await held.ack();
    const { m, g: after } = await groupFigures(ferry, group, topic, (x) => x.acked === 3 && x.lag === 0);
    expect(after).toMatchObject({ acked: 3, inFlight: 0, lag: 0, lagAgeMs: 0 });
    expect(m.engine.handler.count).toBeGreaterThanOrEqual(5);
    await c.close();

    const text = await ferry.metricsText();
    const families = parsePrometheusTextFormat(text); // an independent parser reads it
    const sample = (family: string, labels: Record<string, string>): number | undefined => {
      const f = families.find((x) => x.name === family);
      const s = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
      return s?.value === undefined ? undefined : Number(s.value);
    };
    const of = { messaging_destination_name: topic, messaging_consumer_group_name: group };
    expect(sample('messaging_client_sent_messages_total', { messaging_destination_name: topic })).toBe(4);
    expect(sample('ferry_messages_duplicates_total', { messaging_destination_name: topic })).toBe(1);
    expect(sample('ferry_messages_acked_total', of)).toBe(3);
    expect(sample('ferry_messages_nacked_total', of)).toBe(2);
    expect(sample('ferry_messages_dead_lettered_total', of)).toBe(1);
    expect(sample('ferry_messages_redelivered_total', { ...of, error_type: 'nack' })).toBe(1);
    expect(sample('ferry_consumer_lag', of)).toBe(0);
    expect(sample('ferry_messages_in_flight', of)).toBe(0);
  });

  it('raises deadLettered and maxDeliveriesReached (names, offsets, the error, never the body) and leaseExpired', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('events');
    await ferry.createTopic(topic, { maxDeliveries: 1, ackTimeoutMs: 400 });
    const heard: FerryEventMap['deadLettered' | 'maxDeliveriesReached' | 'leaseExpired'][] = [];
    const mine = (e: { topic: string }): boolean => e.topic === topic;
    const offs = [
      ferry.on('deadLettered', (e) => mine(e) && heard.push(e)),
      ferry.on('maxDeliveriesReached', (e) => mine(e) && heard.push(e)),
      ferry.on('leaseExpired', (e) => mine(e) && heard.push(e)),
    ];
    try {
      const producer = ferry.producer();
      const poison = await producer.publish(topic, { value: { card: 'secret-4111' } });
      const group = fresh('g');
      const c = ferry.consumer(group, { topics: [topic], maxInFlight: 1 });
      await (await nextWithin(c, 10_000))!.nack({ error: new Error('card declined') });
      const slow = await producer.publish(topic, { value: 'slow' });
      const held = await nextWithin(c, 10_000);
      expect(held?.offset).toBe(slow.offset);
      await sleep(700); // its lease (400 ms) runs out in the handler's hands
      await pollUntil(ferry, () => heard.filter((e) => e.type === 'deadLettered').length >= 1 && heard.some((e) => e.type === 'leaseExpired'));
      expect(heard.find((e) => e.type === 'maxDeliveriesReached' && e.offset === poison.offset)).toMatchObject({ group, partition: poison.partition, attempts: 1, lastError: expect.stringContaining('card declined') });
      expect(heard.find((e) => e.type === 'deadLettered' && e.offset === poison.offset)).toMatchObject({ group, attempts: 1, deadLetterTopic: `${topic}.dlq`, lastError: expect.stringContaining('card declined') });
      expect(heard.find((e) => e.type === 'leaseExpired')).toMatchObject({ group, offset: slow.offset, attempt: 1 });
      expect(JSON.stringify(heard)).not.toContain('secret-4111');
      const { g } = await groupFigures(ferry, group, topic, (x) => x.leasesExpired === 1);
      expect(g).toMatchObject({ leasesExpired: 1, redeliveredAfterLeaseExpiry: 0 }); // its last attempt: dead-lettered, not redelivered
      await c.close({ timeoutMs: 0 });
    } finally {
      for (const off of offs) off();
    }
  });

  it('raises lagHigh past alerts.lagMessages, then lagRecovered once the group caught up', async (ctx) => {
    const ferry = await ferryFor(ctx);
    const topic = fresh('lag');
    await ferry.createTopic(topic);
    const group = fresh('g');
    const c = ferry.consumer<number>(group, { topics: [topic], maxInFlight: 1 });
    await ferry.producer().publishMany(topic, Array.from({ length: 8 }, (_, i) => ({ value: i })));
    const first = (await nextWithin(c, 10_000))!; // the group exists, with 8 unsettled (threshold: 5)
    const heard: FerryEventMap['lagHigh' | 'lagRecovered'][] = [];
    const offs = [ferry.on('lagHigh', (e) => e.group === group && heard.push(e)), ferry.on('lagRecovered', (e) => e.group === group && heard.push(e))];
    try {
      await pollUntil(ferry, () => heard.length > 0);
      expect(heard).toEqual([expect.objectContaining({ type: 'lagHigh', topic, group, lag: 8 })]);
      await first.ack();
      await takeAll(c, 7);
      await pollUntil(ferry, () => heard.length > 1);
      expect(heard.map((e) => e.type)).toEqual(['lagHigh', 'lagRecovered']);
      expect(heard[1]).toMatchObject({ lag: 0 });
    } finally {
      for (const off of offs) off();
      await c.close();
    }
  });

  if (features.storageEvents) {
    it('takes listeners for the storage events (diskFull, fsyncFailed, ...)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const off = ferry.on('diskFull', () => {});
      expect(typeof off).toBe('function');
      off();
    });
  } else {
    it('refuses listeners for storage events it can never raise with UNSUPPORTED (not a listener that never hears)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      for (const name of ['diskFull', 'tornTailCut', 'fsyncFailed', 'retentionBlocked', 'shardRestarted', 'shardFailed'] as const) {
        expect(() => ferry.on(name, () => {}), name).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
      }
    });
  }
}
