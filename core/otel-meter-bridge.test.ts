import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { metricsFixture } from '../test-support/metrics-fixture.ts';
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
    for (const name of byName.keys()) expect(name).toMatch(/^(messaging\.client\.(sent|consumed)\.messages|ferry\.[a-z_.]+)$/);

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
});
