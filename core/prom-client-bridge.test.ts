import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Gauge, Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricsFixture } from '../test-support/metrics-fixture.ts';
import { registerPrometheusMetrics } from './prom-client-bridge.ts';

describe('registerPrometheusMetrics (prom-client)', () => {
  it("fills a user's registry at scrape time with the same families and figures as metricsText(), one snapshot per scrape, leaving the global registry alone", async () => {
    const fixture = await metricsFixture(61);
    const { ferry, source: counted } = fixture;
    const registry = new Registry();
    const globalBefore = globalRegistry.getMetricsAsArray().length;
    const unregister = registerPrometheusMetrics(counted, registry);
    expect(globalRegistry.getMetricsAsArray().length).toBe(globalBefore);
    const scraped = parsePrometheusTextFormat(await registry.metrics());
    expect(counted.snapshots).toBe(1);
    const direct = parsePrometheusTextFormat(await ferry.metricsText());
    expect(scraped.map((f) => [f.name, f.type]).sort()).toEqual(direct.map((f) => [f.name, f.type]).sort());
    const sum = (families: typeof scraped, name: string) => families.find((f) => f.name === name)!.metrics.reduce((n, s) => n + Number(s.value), 0);
    expect(sum(scraped, 'messaging_client_sent_messages_total')).toBe(3);
    expect(sum(scraped, 'ferry_messages_acked_total')).toBe(1);
    expect(sum(scraped, 'ferry_consumer_lag')).toBe(sum(direct, 'ferry_consumer_lag'));
    expect(scraped.find((f) => f.name === 'ferry_fsync_duration_seconds')!.metrics[0]!.count).toBe(direct.find((f) => f.name === 'ferry_fsync_duration_seconds')!.metrics[0]!.count);
    await registry.metrics();
    expect(counted.snapshots).toBe(2); // a later scrape takes a fresh one
    unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
    await fixture.close();
  });

  it('scrapes no Ferry samples once the engine is closed, so the rest of the registry still answers; refuses what is not a registry (trial of the packed package)', async () => {
    const fixture = await metricsFixture(62);
    const registry = new Registry();
    registry.registerMetric(new Gauge({ name: 'app_up', help: 'the service is up', registers: [] }));
    registerPrometheusMetrics(fixture.ferry, registry);
    expect(await registry.metrics()).toContain('messaging_client_sent_messages_total{');
    await fixture.close();
    const text = await registry.metrics();
    expect(text).toContain('app_up 0');
    expect(text).toContain('# TYPE messaging_client_sent_messages_total counter');
    expect(text).not.toContain('messaging_client_sent_messages_total{');
    expect(() => registerPrometheusMetrics(fixture.ferry, {} as never)).toThrow("registerPrometheusMetrics(ferry, registry) needs a prom-client Registry: new Registry() from 'prom-client' (got {})");
  });
});
