// Ferry's metrics in a prom-client registry of the user's (never the global one), filled at
// scrape time: one object per metric family, in the shape prom-client's Registry asks of a metric
// (`name`, `type`, `get()`). prom-client is not imported: it stays an optional peer dependency.
// A scrape calls every family's get() in one turn; they share one snapshot.
import { FerryError, InvalidArgumentError, showValue } from '../wal/index.ts';
import type { FerryMetrics } from './metrics.ts';
import { EMPTY_METRICS } from './metric-instruments.ts';
import { metricFamilies, type Family } from './metrics-text.ts';

/** What this needs of a prom-client `Registry` (typed loosely: prom-client's own types name its metric classes). */
export interface PromRegistryLike {
  registerMetric(metric: object): void;
  removeSingleMetric(name: string): void;
}

/** A metric as prom-client's Registry reads it. */
export interface PromMetricLike {
  readonly name: string;
  readonly help: string;
  readonly type: Family['type'];
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: Family['type']; aggregator: 'sum'; values: { metricName: string; labels: Record<string, string>; value: number }[] }>;
  reset(): void;
}

/** An engine that can give a snapshot. */
export interface MetricsSourceLike {
  metrics(): Promise<FerryMetrics>;
}

/**
 * Registers every Ferry metric family in `registry` (a prom-client `Registry`); they are filled
 * from `ferry.metrics()` when the registry is scraped. Returns the function that unregisters them.
 */
export function registerPrometheusMetrics(ferry: MetricsSourceLike, registry: PromRegistryLike): () => void {
  if (typeof registry?.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw new InvalidArgumentError(`registerPrometheusMetrics(ferry, registry) needs a prom-client Registry: new Registry() from 'prom-client' (got ${showValue(registry)})`);
  }
  let scrape: Promise<Family[]> | undefined;
  const families = (): Promise<Family[]> => {
    // The families of one scrape are asked for in the same turn: one snapshot serves them all.
    // A closed engine has no Ferry samples, as the OpenTelemetry bridge observes none: a service's
    // /metrics keeps answering while it shuts down (trial of the packed package: the whole scrape
    // rejected with CLOSED, the service's own metrics with it).
    scrape ??= ferry
      .metrics()
      .then(metricFamilies, (error: unknown) => {
        if (error instanceof FerryError && error.code === 'CLOSED') return metricFamilies(EMPTY_METRICS).map((f) => ({ ...f, samples: [] }));
        throw error;
      })
      .finally(() => queueMicrotask(() => (scrape = undefined)));
    return scrape;
  };
  const names = metricFamilies(EMPTY_METRICS).map((f) => ({ name: f.name, help: f.help, type: f.type }));
  for (const { name, help, type } of names) {
    registry.registerMetric({
      name,
      help,
      type,
      aggregator: 'sum',
      async get() {
        const family = (await families()).find((f) => f.name === name);
        return { name, help, type, aggregator: 'sum', values: (family?.samples ?? []).map((s) => ({ metricName: s.name, labels: { ...s.labels }, value: s.value })) };
      },
      reset() {},
    });
  }
  return () => {
    for (const { name } of names) registry.removeSingleMetric(name);
  };
}
