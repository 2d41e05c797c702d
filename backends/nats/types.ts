// The NATS backend's public types: what NatsFerry hands out, declared without the client
// library's types, so the package's types load without the optional @nats-io peers installed.
import type { CloseOptions, ConsumerFault, Delivery, Message, PublishResult, RunOptions } from '../../core/index.ts';

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
  run(handler: (delivery: Delivery<V>) => Promise<void> | void, options?: RunOptions): Promise<void>;
  onFault(listener: (fault: ConsumerFault) => void): () => void;
  abandon(): void;
  close(options?: CloseOptions): Promise<void>;
}

/** A delivery from NATS: the same surface as the embedded one (`offset` is the stream sequence). */
export type NatsDelivery<V = unknown> = Delivery<V>;
