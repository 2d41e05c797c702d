// The NATS backend's public face: what the package root (index.ts) and users may use of it.
export { NatsFerry } from './ferry.ts';
export type { NatsConsumer, NatsDelivery, NatsProducer } from './types.ts';
export type { NatsBackendOptions, NatsFerryOptions } from './options.ts';
export type { NatsGroupMetrics, NatsMetrics, NatsTopicMetrics } from './types.ts';
export { BackendRequestError, BackendUnavailableError, UnsupportedFeatureError } from './errors.ts';
