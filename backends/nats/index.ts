// The NATS backend's public face: what the package root (index.ts) and users may use of it.
export { NatsFerry } from './ferry.ts';
export type { NatsProducer } from './producer.ts';
export type { NatsConsumer } from './consumer.ts';
export type { NatsDelivery } from './delivery.ts';
export type { NatsBackendOptions, NatsFerryOptions } from './options.ts';
export { BackendRequestError, BackendUnavailableError, UnsupportedFeatureError } from './errors.ts';
