// What an engine shows of itself (the caller's thread): metrics snapshots and their Prometheus
// text, alert events, browsing stored messages, one message's history, and descriptions of
// topics and groups. Nothing here changes state.
import { inspectMessage, readTopic, type MessageHistory, type ReadOptions, type StoredMessageView } from './admin.ts';
import { describeAll, type Description, type GroupDescription, type TopicDescription } from './describe.ts';
import type { Member } from './engine-clients.ts';
import { EngineEvents } from './engine-events.ts';
import type { OpenedEngine } from './engine-open.ts';
import { UnknownGroupError } from './errors.ts';
import { collectMetrics, type FerryMetrics, type MetricsSource } from './metrics.ts';
import { metricsText } from './metrics-text.ts';

/** Metrics, events, browsing and descriptions of one engine. */
export class EngineObserver {
  readonly #engine: OpenedEngine;
  readonly #source: () => MetricsSource;
  readonly #members: () => readonly Member[];
  /** The alert events (`ferry.on`), polled from the same collection as the metrics. */
  readonly events: EngineEvents;

  constructor(engine: OpenedEngine, source: () => MetricsSource, members: () => readonly Member[]) {
    this.#engine = engine;
    this.#source = source;
    this.#members = members;
    this.events = new EngineEvents(() => collectMetrics(source(), true), engine.clock, engine.alerts);
  }

  /** See `Ferry.metrics`. */
  async metrics(): Promise<FerryMetrics> {
    return (await collectMetrics(this.#source(), false)).metrics;
  }

  /** See `Ferry.metricsText`. */
  async metricsText(): Promise<string> {
    return metricsText(await this.metrics());
  }

  /** See `Ferry.read`. */
  read<V>(topic: string, options: ReadOptions): Promise<StoredMessageView<V>[]> {
    return readTopic<V>(this.#engine, topic, options);
  }

  /** See `Ferry.inspect`. */
  inspect(topic: string, partition: number, offset: number): Promise<MessageHistory> {
    return inspectMessage(this.#engine, topic, partition, offset);
  }

  /** See `Ferry.describe`. */
  async describe(): Promise<Description> {
    return describeAll(this.#engine.catalog.topics(), this.#members(), await this.metrics());
  }

  /** See `Ferry.describeTopic`. */
  async describeTopic(name: string): Promise<TopicDescription> {
    this.#engine.topic(name);
    return (await this.describe()).topics.find((t) => t.name === name)!;
  }

  /** See `Ferry.describeGroup`. */
  async describeGroup(name: string): Promise<GroupDescription> {
    const found = (await this.describe()).groups.find((g) => g.name === name);
    if (!found) throw new UnknownGroupError(name, 'any topic');
    return found;
  }
}
