import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { metricsFixture } from '../test-support/metrics-fixture.ts';
import { DURATION_BUCKETS_SECONDS, type HistogramSnapshot } from './metrics-histogram.ts';
import { registerOpenTelemetryMetrics } from './otel-meter-bridge.ts';

/** A pull reader: collect() gathers what the meters observe now (the SDK's in-memory reading, no exporter). */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function collect(reader: PullReader): Promise<MetricData[]> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

describe('registerOpenTelemetryMetrics (@opentelemetry/api meter)', () => {
  it('reports the figures of metrics() through observable instruments named after the messaging conventions, one snapshot per collection', async () => {
    const fixture = await metricsFixture(62);
    const { consumer: c, source: counted } = fixture;
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const stop = registerOpenTelemetryMetrics(counted, provider.getMeter('ferry'));
    expect(counted.snapshots).toBe(0); // nothing until a collection

    const metrics = await collect(reader);
    expect(counted.snapshots).toBe(1);
    const byName = new Map(metrics.map((m) => [m.descriptor.name, m]));
    const sent = byName.get('messaging.client.sent.messages')!;
    expect(sent.descriptor.unit).toBe('{message}');
    expect(sent).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true });
    expect(sent.dataPoints.map((p) => p.attributes).filter((a) => a['messaging.destination.name'] === 'orders').sort((a, b) => String(a['messaging.destination.partition.id']).localeCompare(String(b['messaging.destination.partition.id'])))).toEqual([
      { 'messaging.destination.name': 'orders', 'messaging.destination.partition.id': '0' },
      { 'messaging.destination.name': 'orders', 'messaging.destination.partition.id': '1' },
    ]);
    const total = (name: string) => byName.get(name)!.dataPoints.reduce((n, p) => n + (p.value as number), 0);
    expect(total('messaging.client.sent.messages')).toBe(3);
    const consumed = byName.get('messaging.client.consumed.messages')!;
    expect(consumed.dataPoints.every((p) => p.attributes['messaging.consumer.group.name'] === 'billing')).toBe(true);
    expect(total('messaging.client.consumed.messages')).toBeGreaterThanOrEqual(1);
    expect(total('ferry.messages.acked')).toBe(1);
    expect(byName.get('ferry.consumer.lag')!.dataPointType).toBe(DataPointType.GAUGE);
    expect(total('ferry.consumer.lag')).toBe(2);
    expect(byName.get('ferry.log.size')!.descriptor.unit).toBe('By');
    // Every name is a convention's or Ferry's own.
    for (const name of byName.keys()) expect(name).toMatch(/^(messaging\.client\.(sent|consumed)\.messages|messaging\.client\.operation\.duration|messaging\.process\.duration|ferry\.[a-z_.]+)$/);

    await (await c.next())!.ack();
    const again = new Map((await collect(reader)).map((m) => [m.descriptor.name, m]));
    expect(counted.snapshots).toBe(2);
    expect(again.get('ferry.messages.acked')!.dataPoints.reduce((n, p) => n + (p.value as number), 0)).toBe(2);

    stop();
    await collect(reader);
    expect(counted.snapshots).toBe(2); // no longer observed
    await fixture.close();
    await provider.shutdown();
  });

  it('a collection after the engine closed has no Ferry points and does not fail', async () => {
    const ferry = await memoryFerry(63).open();
    await ferry.createTopic('t');
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    registerOpenTelemetryMetrics(ferry, provider.getMeter('ferry'));
    await ferry.close();
    const metrics = await collect(reader);
    expect(metrics.flatMap((m): unknown[] => m.dataPoints)).toEqual([]);
    await provider.shutdown();
  });

  // Issue 12: the duration histograms too, although the API takes a histogram one observation at a time.
  it('records the duration histograms with the conventions\' buckets: each collection adds what the engine measured since the last, so the totals match metrics()', async () => {
    const fixture = await metricsFixture(64);
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    registerOpenTelemetryMetrics(fixture.source, provider.getMeter('ferry'));
    const histogramsOf = async () => new Map((await collect(reader)).filter((m) => m.dataPointType === DataPointType.HISTOGRAM).map((m) => [m.descriptor.name, m]));
    /** The one point of an instrument, as bucket counts (not cumulative), sum and count. */
    const point = (m: MetricData | undefined) => {
      expect(m?.dataPoints).toHaveLength(1);
      const v = m!.dataPoints[0]!.value as { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number };
      return { attributes: m!.dataPoints[0]!.attributes, boundaries: v.buckets.boundaries, counts: v.buckets.counts, sum: v.sum, count: v.count };
    };
    const same = (got: ReturnType<typeof point>, want: HistogramSnapshot) => {
      expect(got.boundaries).toEqual([...DURATION_BUCKETS_SECONDS]);
      expect(got.counts).toEqual(want.counts);
      expect(got.count).toBe(want.count);
      expect(got.sum).toBeCloseTo(want.sumSeconds, 9);
    };

    let hs = await histogramsOf();
    expect([...hs.keys()].sort()).toEqual(['ferry.fsync.duration', 'ferry.publish_to_deliver.duration', 'messaging.client.operation.duration', 'messaging.process.duration']);
    expect(hs.get('messaging.process.duration')!.descriptor.unit).toBe('s');
    expect(point(hs.get('messaging.client.operation.duration')).attributes).toEqual({ 'messaging.operation.name': 'send' });
    let engine = (await fixture.ferry.metrics()).engine;
    expect(engine.confirm.count).toBeGreaterThan(0);
    same(point(hs.get('messaging.client.operation.duration')), engine.confirm);
    same(point(hs.get('messaging.process.duration')), engine.handler);

    // More traffic: the cumulative points follow the engine's, nothing counted twice.
    await fixture.ferry.producer().publishMany('orders', [4, 5].map((value) => ({ value })));
    await (await fixture.consumer.next())!.ack();
    hs = await histogramsOf();
    engine = (await fixture.ferry.metrics()).engine;
    same(point(hs.get('messaging.client.operation.duration')), engine.confirm);
    same(point(hs.get('messaging.process.duration')), engine.handler);
    same(point(hs.get('ferry.publish_to_deliver.duration')), engine.deliver);
    same(point(hs.get('ferry.fsync.duration')), engine.fsync);
    await fixture.close();
    await provider.shutdown();
  });

  it('leaves the histograms out with { histograms: false }, and refuses an unknown option', async () => {
    const fixture = await metricsFixture(65);
    const reader = new PullReader();
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('ferry');
    expect(() => registerOpenTelemetryMetrics(fixture.source, meter, { histogram: false } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => registerOpenTelemetryMetrics(fixture.source, meter, { histograms: 'no' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    registerOpenTelemetryMetrics(fixture.source, meter, { histograms: false });
    const metrics = await collect(reader);
    expect(metrics.filter((m) => m.dataPointType === DataPointType.HISTOGRAM)).toEqual([]);
    expect(metrics.some((m) => m.descriptor.name === 'messaging.client.sent.messages')).toBe(true);
    await fixture.close();
    await provider.shutdown();
  });
});
