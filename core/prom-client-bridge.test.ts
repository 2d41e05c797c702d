import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { registerPrometheusMetrics } from './prom-client-bridge.ts';

describe('registerPrometheusMetrics (prom-client)', () => {
  it("fills a user's registry at scrape time with the same families and figures as metricsText(), one snapshot per scrape, leaving the global registry alone", async () => {
    const setup = memoryFerry(61);
    const ferry = await setup.open();
    await ferry.createTopic('orders', { partitions: 2 });
    await ferry.producer().publishMany('orders', [1, 2, 3].map((value) => ({ value, key: `k${value}` })));
    const c = ferry.consumer('billing', { topics: ['orders'] });
    await (await c.next())!.ack();
    let snapshots = 0;
    const counted = { metrics: () => (snapshots++, ferry.metrics()) };
    const registry = new Registry();
    const globalBefore = globalRegistry.getMetricsAsArray().length;
    const unregister = registerPrometheusMetrics(counted, registry);
    expect(globalRegistry.getMetricsAsArray().length).toBe(globalBefore);
    const scraped = parsePrometheusTextFormat(await registry.metrics());
    expect(snapshots).toBe(1);
    const direct = parsePrometheusTextFormat(await ferry.metricsText());
    expect(scraped.map((f) => [f.name, f.type]).sort()).toEqual(direct.map((f) => [f.name, f.type]).sort());
    const sum = (families: typeof scraped, name: string) => families.find((f) => f.name === name)!.metrics.reduce((n, s) => n + Number(s.value), 0);
    expect(sum(scraped, 'messaging_client_sent_messages_total')).toBe(3);
    expect(sum(scraped, 'ferry_messages_acked_total')).toBe(1);
    expect(sum(scraped, 'ferry_consumer_lag')).toBe(sum(direct, 'ferry_consumer_lag'));
    expect(scraped.find((f) => f.name === 'ferry_fsync_duration_seconds')!.metrics[0]!.count).toBe(direct.find((f) => f.name === 'ferry_fsync_duration_seconds')!.metrics[0]!.count);
    await registry.metrics();
    expect(snapshots).toBe(2); // a later scrape takes a fresh one
    unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
    await c.close({ timeoutMs: 0 });
    await ferry.close({ timeoutMs: 0 });
  });
});
