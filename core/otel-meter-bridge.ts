// Ferry's metrics through an OpenTelemetry meter of the user's (`@opentelemetry/api`): one
// observable instrument per counter and gauge, all filled by one batch callback at collection
// time from one `ferry.metrics()` snapshot. @opentelemetry/api is not imported: it stays an
// optional peer dependency, and the meter is typed by what this uses of it.
import { EMPTY_METRICS, metricInstruments, type ScalarInstrument } from './metric-instruments.ts';
import type { FerryMetrics } from './metrics.ts';
import type { MetricsSourceLike } from './prom-client-bridge.ts';

/** An instrument the meter made (opaque here). */
export type ObservableLike = object;

/** What a batch callback is handed: `observe(instrument, value, attributes)`. */
export interface BatchObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: Record<string, string>): void;
}

/** What this needs of an `@opentelemetry/api` `Meter`. */
export interface MeterLike {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  addBatchObservableCallback(callback: (result: BatchObservableResultLike) => void | Promise<void>, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: (result: BatchObservableResultLike) => void | Promise<void>, observables: ObservableLike[]): void;
}

/**
 * Creates Ferry's counters and gauges on `meter` (from `metrics.getMeter('ferry')` or your
 * MeterProvider), named after the OpenTelemetry messaging conventions (`messaging.client.sent.messages`,
 * `messaging.client.consumed.messages`, attributes `messaging.destination.name`,
 * `messaging.destination.partition.id`, `messaging.consumer.group.name`) and `ferry.*` for the
 * engine's own. Each collection takes one snapshot; one that fails observes nothing. The latency
 * histograms are not among them (the API has no observable histogram): read them from
 * `metricsText()`, prom-client or `metrics().engine`. Returns the function that stops observing.
 */
export function registerOpenTelemetryMetrics(ferry: MetricsSourceLike, meter: MeterLike): () => void {
  const scalars = (m: FerryMetrics): ScalarInstrument[] => metricInstruments(m).filter((i): i is ScalarInstrument => i.kind !== 'histogram');
  const observables = new Map<string, ObservableLike>();
  for (const i of scalars(EMPTY_METRICS)) {
    const options = { description: i.description, unit: i.unit };
    observables.set(i.name, i.kind === 'counter' ? meter.createObservableCounter(i.name, options) : meter.createObservableGauge(i.name, options));
  }
  const callback = async (result: BatchObservableResultLike): Promise<void> => {
    let snapshot: FerryMetrics;
    try {
      snapshot = await ferry.metrics();
    } catch {
      return; // a closed engine, say: this collection has no Ferry points, the next may
    }
    for (const i of scalars(snapshot)) {
      const observable = observables.get(i.name)!;
      for (const [attributes, value] of i.points) result.observe(observable, value, { ...attributes });
    }
  };
  const all = [...observables.values()];
  meter.addBatchObservableCallback(callback, all);
  return () => meter.removeBatchObservableCallback(callback, all);
}
