// Ferry's metrics through an OpenTelemetry meter of the user's (`@opentelemetry/api`): one
// observable instrument per counter and gauge, all filled by one batch callback at collection
// time from one `ferry.metrics()` snapshot; the duration histograms, which the API takes only
// one observation at a time, are replayed from the same snapshot (what each gained since the
// last collection, metrics-histogram-replay.ts). @opentelemetry/api is not imported: it stays an
// optional peer dependency, and the meter is typed by what this uses of it.
import { DURATION_BUCKETS_SECONDS, type HistogramSnapshot } from './metrics-histogram.ts';
import { histogramDelta, replayObservations } from './metrics-histogram-replay.ts';
import { EMPTY_METRICS, metricInstruments, type HistogramInstrument, type ScalarInstrument } from './metric-instruments.ts';
import type { FerryMetrics } from './metrics.ts';
import type { MetricsSourceLike } from './prom-client-bridge.ts';
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { refuseUnknownOptions } from './option-names.ts';

/** An instrument the meter made (opaque here). */
export type ObservableLike = object;

/** What a batch callback is handed: `observe(instrument, value, attributes)`. */
export interface BatchObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: Record<string, string>): void;
}

/** A synchronous histogram the meter made: `record(value, attributes)`. */
export interface HistogramLike {
  record(value: number, attributes?: Record<string, string>): void;
}

/** What this needs of an `@opentelemetry/api` `Meter`. */
export interface MeterLike {
  createHistogram(name: string, options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } }): HistogramLike;
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  addBatchObservableCallback(callback: (result: BatchObservableResultLike) => void | Promise<void>, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: (result: BatchObservableResultLike) => void | Promise<void>, observables: ObservableLike[]): void;
}

/** Options of `registerOpenTelemetryMetrics`. */
export interface OpenTelemetryMetricsOptions {
  /**
   * Record the duration histograms (default true). Each collection records one observation per
   * duration measured since the last one (the API has no way to add a bucket's count at once), on
   * the thread that collects: false leaves them out, to save that work at very high rates.
   */
  readonly histograms?: boolean;
}

/**
 * Creates Ferry's counters, gauges and histograms on `meter` (from `metrics.getMeter('ferry')` or
 * your MeterProvider), named after the OpenTelemetry messaging conventions (`messaging.client.sent.messages`,
 * `messaging.client.consumed.messages`, `messaging.client.operation.duration`,
 * `messaging.process.duration`, attributes `messaging.destination.name`,
 * `messaging.destination.partition.id`, `messaging.consumer.group.name`,
 * `messaging.operation.name`) and `ferry.*` for the engine's own. Each collection takes one
 * snapshot; one that fails observes nothing. Counters and gauges are observable instruments; the
 * duration histograms (publish to confirm, publish to first delivery, handler, fsync; seconds,
 * with the conventions' bucket boundaries as advice) are synchronous ones, given at each
 * collection the durations measured since the previous one, in the same buckets and with the same
 * sum. Returns the function that stops observing.
 */
export function registerOpenTelemetryMetrics(ferry: MetricsSourceLike, meter: MeterLike, options: OpenTelemetryMetricsOptions = {}): () => void {
  refuseUnknownOptions('registerOpenTelemetryMetrics options', options, ['histograms']);
  if (options.histograms !== undefined && typeof options.histograms !== 'boolean') throw new InvalidArgumentError(`registerOpenTelemetryMetrics options.histograms must be true or false (got ${showValue(options.histograms)})`);
  const scalars = (m: FerryMetrics): ScalarInstrument[] => metricInstruments(m).filter((i): i is ScalarInstrument => i.kind !== 'histogram');
  const histograms = (m: FerryMetrics): HistogramInstrument[] => (options.histograms === false ? [] : metricInstruments(m).filter((i): i is HistogramInstrument => i.kind === 'histogram'));
  const observables = new Map<string, ObservableLike>();
  for (const i of scalars(EMPTY_METRICS)) {
    const options = { description: i.description, unit: i.unit };
    observables.set(i.name, i.kind === 'counter' ? meter.createObservableCounter(i.name, options) : meter.createObservableGauge(i.name, options));
  }
  const recorders = new Map<string, HistogramLike>();
  for (const i of histograms(EMPTY_METRICS)) recorders.set(i.name, meter.createHistogram(i.name, { description: i.description, unit: i.unit, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] } }));
  /** Each histogram point as the last collection saw it (one per instrument and attribute set: a fixed few). */
  const seen = new Map<string, HistogramSnapshot>();
  let stopped = false;
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
    if (stopped) return;
    for (const i of histograms(snapshot)) {
      for (const [attributes, h] of i.points) {
        const key = `${i.name} ${JSON.stringify(attributes)}`;
        const gained = histogramDelta(h, seen.get(key));
        seen.set(key, h);
        const recorder = recorders.get(i.name)!;
        for (const [value, times] of replayObservations(gained)) for (let n = 0; n < times; n++) recorder.record(value, { ...attributes });
      }
    }
  };
  const all = [...observables.values()];
  meter.addBatchObservableCallback(callback, all);
  return () => {
    stopped = true;
    meter.removeBatchObservableCallback(callback, all);
  };
}
