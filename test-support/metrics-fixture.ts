// Test-only: an engine with a little traffic for the metrics exporters' tests, and a source that
// counts the snapshots an exporter takes.
import type { Consumer } from '../core/consumer.ts';
import type { Ferry } from '../core/ferry.ts';
import type { FerryMetrics } from '../core/metrics.ts';
import { memoryFerry } from './memory-ferry.ts';

export interface MetricsFixture {
  readonly ferry: Ferry;
  /** A consumer of group 'billing' on 'orders', one message acked. */
  readonly consumer: Consumer;
  /** `ferry.metrics()`, counting its calls in `snapshots`. */
  readonly source: { metrics(): Promise<FerryMetrics>; readonly snapshots: number };
  close(): Promise<void>;
}

/** Topic 'orders' (2 partitions) with 3 messages published and one acked by group 'billing'. */
export async function metricsFixture(seed: number): Promise<MetricsFixture> {
  const ferry = await memoryFerry(seed).open();
  await ferry.createTopic('orders', { partitions: 2 });
  await ferry.producer().publishMany('orders', [1, 2, 3].map((value) => ({ value, key: `k${value}` })));
  const consumer = ferry.consumer('billing', { topics: ['orders'] });
  await (await consumer.next())!.ack();
  let snapshots = 0;
  const source = {
    metrics: () => (snapshots++, ferry.metrics()),
    get snapshots() {
      return snapshots;
    },
  };
  return {
    ferry,
    consumer,
    source,
    close: async () => {
      await consumer.close({ timeoutMs: 0 });
      await ferry.close({ timeoutMs: 0 });
    },
  };
}
