import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { prometheusName } from './metrics-text.ts';

function family(families: readonly ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

describe('ferry.metricsText()', () => {
  it('translates OpenTelemetry names the standard way: dots to _, unit words, _total on counters', () => {
    expect(prometheusName('messaging.client.sent.messages', '{message}', 'counter')).toBe('messaging_client_sent_messages_total');
    expect(prometheusName('messaging.process.duration', 's', 'histogram')).toBe('messaging_process_duration_seconds');
    expect(prometheusName('ferry.log.size', 'By', 'gauge')).toBe('ferry_log_size_bytes');
    expect(prometheusName('ferry.worker.restarts', '{restart}', 'counter')).toBe('ferry_worker_restarts_total');
  });

  it('is parsed by an independent Prometheus text parser into the snapshot figures, with OTel attribute labels', async () => {
    const setup = memoryFerry(12);
    const ferry = await setup.open();
    await ferry.createTopic('orders', { partitions: 2, maxDeliveries: 1 });
    await ferry.producer().publishMany('orders', [{ value: 1, key: 'a' }, { value: 2, key: 'b' }, { value: 3, key: 'c' }, { value: 4, key: 'd' }]);
    const c = ferry.consumer('billing', { topics: ['orders'] });
    for (let i = 0; i < 3; i++) await (await c.next())!.ack();
    await (await c.next())!.nack({ error: 'poison' });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    const snapshot = await ferry.metrics();
    const families = parsePrometheusTextFormat(await ferry.metricsText());

    const sent = family(families, 'messaging_client_sent_messages_total');
    expect(sent.type).toBe('COUNTER');
    const orders = sent.metrics.filter((s) => s.labels?.messaging_destination_name === 'orders');
    expect(orders.map((s) => s.labels?.messaging_destination_partition_id).sort()).toEqual(['0', '1']);
    expect(orders.reduce((n, s) => n + Number(s.value), 0)).toBe(4);
    expect(orders.reduce((n, s) => n + Number(s.value), 0)).toBe(snapshot.topics.find((t) => t.topic === 'orders')!.published);

    const acked = family(families, 'ferry_messages_acked_total').metrics;
    expect(new Set(acked.map((s) => s.labels?.messaging_consumer_group_name))).toEqual(new Set(['billing']));
    expect(acked.reduce((n, s) => n + Number(s.value), 0)).toBe(3);
    const dead = family(families, 'ferry_messages_dead_lettered_total').metrics;
    expect(dead.reduce((n, s) => n + Number(s.value), 0)).toBe(1);
    const redelivered = family(families, 'ferry_messages_redelivered_total').metrics;
    expect(new Set(redelivered.map((s) => s.labels?.error_type))).toEqual(new Set(['nack', 'lease_expired']));
    expect(family(families, 'ferry_consumer_lag').type).toBe('GAUGE');
    expect(family(families, 'ferry_log_size_bytes').metrics.every((s) => Number(s.value) > 0)).toBe(true);
    expect(family(families, 'ferry_worker_restarts_total').metrics[0]!.value).toBe('0');

    // This parser keeps only the buckets of a labelled histogram (it drops labels, _sum and
    // _count there): those are checked on the unlabelled fsync histogram below.
    const process = family(families, 'messaging_process_duration_seconds');
    expect(process.type).toBe('HISTOGRAM');
    expect(process.metrics).toHaveLength(1);
    const buckets = process.metrics[0]!.buckets!;
    expect(Number(buckets['+Inf'])).toBe(4);
    expect(Number(buckets['+Inf'])).toBe(snapshot.engine.handler.count);
    // Buckets are cumulative and never decrease, with the conventions' bounds.
    const counts = Object.entries(buckets).filter(([le]) => le !== '+Inf').sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => Number(v));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(Object.keys(buckets).filter((le) => le !== '+Inf').map(Number).sort((a, b) => a - b)).toEqual(snapshot.engine.handler.boundsSeconds);
    expect(Number(family(families, 'messaging_client_operation_duration_seconds').metrics[0]!.buckets!['+Inf'])).toBe(snapshot.engine.confirm.count);
    const fsync = family(families, 'ferry_fsync_duration_seconds').metrics[0]!;
    expect(Number(fsync.count)).toBe(snapshot.engine.fsync.count);
    expect(Number(fsync.count)).toBeGreaterThan(0);
    expect(Number(fsync.sum)).toBeCloseTo(snapshot.engine.fsync.sumSeconds);
    await ferry.close({ timeoutMs: 0 });
  });
});
