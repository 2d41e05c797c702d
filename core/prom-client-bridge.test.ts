import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry, register as globalRegistry } from 'prom-client';
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
});
