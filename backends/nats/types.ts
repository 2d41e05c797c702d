// The NATS backend's public types: what NatsFerry hands out, declared without the client
// library's types, so the package's types load without the optional @nats-io peers installed.
import type { BatchHandler, CloseOptions, ConsumerFault, Delivery, GroupCounters, HistogramSnapshot, Message, PublishResult, RunBatchesOptions, RunHandler, RunOptions, UnavailablePartition } from '../../core/index.ts';

/** A producer on NATS: `publish` resolves once the stream confirmed the message (PubAck). */
export interface NatsProducer {
  publish(topic: string, message: Message): Promise<PublishResult>;
  publishMany(topic: string, messages: readonly Message[]): Promise<PublishResult[]>;
  close(): Promise<void>;
}

/** A member of a consumer group on NATS: the same surface as the embedded consumer. */
export interface NatsConsumer<V = unknown> extends AsyncIterable<Delivery<V>> {
  readonly group: string;
  next(): Promise<Delivery<V> | undefined>;
  /** As the embedded consumer's run(), without `exactlyOnce` (NATS has no transactions: refused with UNSUPPORTED), so `tx` is always undefined. */
  run(handler: RunHandler<V>, options?: RunOptions & { readonly exactlyOnce?: false }): Promise<void>;
  runBatches(handler: BatchHandler<V>, options?: RunBatchesOptions): Promise<void>;
  ackMany(deliveries: readonly Delivery<V>[]): Promise<void>;
  /** Extends many leases with one promise (see the embedded consumer's extendMany); `ms` at most the topic's ackTimeoutMs. */
  extendMany(deliveries: readonly Delivery<V>[], ms?: number): Promise<void>;
  onFault(listener: (fault: ConsumerFault) => void): () => void;
  abandon(): void;
  close(options?: CloseOptions): Promise<void>;
}

/** A delivery from NATS: the same surface as the embedded one (`offset` is the stream sequence). */
export type NatsDelivery<V = unknown> = Delivery<V>;

// ferry.metrics() on NATS: what backends/nats/metrics.ts collects (see docs/NATS.md § Metrics).

/** A topic on NATS: this instance's publishes, and the stream as the servers keep it. */
export interface NatsTopicMetrics {
  readonly topic: string;
  /** Messages this instance published and had confirmed, per partition it published to. */
  readonly partitions: readonly { readonly partition: number; readonly published: number; readonly duplicates: number }[];
  readonly published: number;
  readonly duplicates: number;
  /** Dead letters this instance moved back out of this topic with `redrive`. */
  readonly redriven: number;
  /** The stream now (all processes' messages, retention applied); null when it did not answer. */
  readonly stream: { readonly messages: number; readonly bytes: number; readonly firstSequence: number; readonly lastSequence: number } | null;
}

/** A group on one topic: this instance's counts (per partition and summed), and the group's gauges from the servers. */
export interface NatsGroupMetrics extends Readonly<GroupCounters> {
  readonly group: string;
  readonly topic: string;
  readonly partitions: readonly (Readonly<GroupCounters> & { readonly partition: number })[];
  /** Delivered to some member (any process) and not acked yet: held by handlers, buffered, or waiting for a nack's delay (NATS keeps those pending too). */
  readonly inFlight: number | null;
  /** Stored messages the group has not been delivered yet. */
  readonly unread: number | null;
  /** inFlight + unread: the messages the group has not settled. */
  readonly lag: number | null;
  /** Age (ms) of the first message past the group's ack floor (an upper bound when later ones were acked first); 0 when the lag is 0. */
  readonly lagAgeMs: number | null;
}

/** What `ferry.metrics()` returns on NATS. */
export interface NatsMetrics {
  readonly backend: 'nats';
  /** Wall time of the snapshot (ms). */
  readonly at: number;
  readonly topics: readonly NatsTopicMetrics[];
  readonly groups: readonly NatsGroupMetrics[];
  /** This instance's latency histograms: publish → PubAck, stored → first delivery here, handler took → ack or nack confirmed. */
  readonly engine: { readonly confirm: HistogramSnapshot; readonly deliver: HistogramSnapshot; readonly handler: HistogramSnapshot };
  /** Every partition of a topic whose stream or consumers did not answer. */
  readonly unavailable: readonly UnavailablePartition[];
}
