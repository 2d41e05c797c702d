// NATS JetStream as a benchmark target (@nats-io/transport-node, @nats-io/jetstream): a file-
// storage stream, js.publish awaiting its PubAck, a durable pull consumer with explicit acks
// (max_ack_pending = prefetch), nak for a failed attempt.
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { Subscription, Target, TargetParams } from '../adapters/target.ts';

const STREAM = 'BENCH';
const SUBJECT = 'bench';
const CONSUMER = 'bench';

/** What bench/nats-cpu.ts varies: the client option Ferry's NATS backend sets, and acks confirmed by the server as Ferry's are. */
export interface NatsVariant {
  readonly noAsyncTraces?: boolean;
  /** `ack()` waits for the server's AckAck (the client's `ackAck()`), as Ferry's `ack()` does; by default it is sent and not answered. */
  readonly ackConfirmed?: boolean;
}

export async function openNats(params: TargetParams, variant: NatsVariant = {}): Promise<Target> {
  const nc = await connect({ servers: `127.0.0.1:${params.port!}`, ...(variant.noAsyncTraces ? { noAsyncTraces: true } : {}) });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => {});
  await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File });
  const js = jetstream(nc);
  const publish = async (value: Uint8Array): Promise<void> => void (await js.publish(SUBJECT, value));
  return {
    confirmMeans: 'PubAck once written to the stream file (page cache; JetStream fsyncs every 2 min by default)',
    publish,
    publishMany: async (values) => void (await Promise.all(values.map(publish))),
    async consume(prefetch, onDelivery): Promise<Subscription> {
      await jsm.consumers.add(STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, max_ack_pending: prefetch, ack_wait: 30_000_000_000 });
      const consumer = await js.consumers.get(STREAM, CONSUMER);
      const messages = await consumer.consume({ max_messages: prefetch });
      const loop = (async () => {
        for await (const m of messages) {
          onDelivery({ value: m.data, ack: variant.ackConfirmed ? async () => void (await m.ackAck()) : async () => m.ack(), nack: async () => m.nak() });
        }
      })();
      return {
        async stop() {
          await messages.close();
          await loop.catch(() => {});
        },
      };
    },
    stored: async () => (await jsm.streams.info(STREAM)).state.messages,
    async unsettled() {
      const info = await jsm.consumers.info(STREAM, CONSUMER);
      return info.num_pending + info.num_ack_pending;
    },
    async close() {
      await jsm.streams.delete(STREAM).catch(() => {});
      await nc.close();
    },
  };
}
