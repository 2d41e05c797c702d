// Ferry as a benchmark target: a fresh data directory, one topic, the plain consumer loop a user
// writes (`for await (const d of consumer)`, ack each). Runs in a benchmark cell's child process.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import type { StaleDeliveryError } from '../../index.ts';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { Subscription, Target, TargetDelivery, TargetParams } from './target.ts';

const TOPIC = 'bench';

/**
 * The topic of one cell. On NATS a fresh name per cell: the cells share one server, and a topic
 * of an earlier cell (W1 leaves its messages unconsumed) would be drained by the next cell's group
 * (its check then fails with "acked more than once" and "deliveries of unknown messages").
 */
function topicOf(onNats: boolean): string {
  return onNats ? `${TOPIC}-${randomUUID()}` : TOPIC;
}

/** A copy whose message another copy already settled: Ferry says STALE_DELIVERY. */
function staleIsFalse(error: unknown): false {
  if ((error as StaleDeliveryError | undefined)?.code === 'STALE_DELIVERY') return false;
  throw error;
}
const GROUP = 'bench';

const CONFIRM_MEANS = {
  always: 'fdatasync before each confirm (per batch append)',
  interval: 'group commit: the confirm waits for the fdatasync that covers it',
  none: 'written to the OS page cache (survives a process crash, not power loss)',
} as const;

/**
 * Opens Ferry on `params.dir` with one topic of `params.partitions` partitions; with a `port`,
 * the same API on the NATS JetStream server there (target 'ferry-nats': the backend's cost over
 * raw JetStream, measured beside it).
 */
export async function openFerry(params: TargetParams): Promise<Target> {
  const fsync = params.fsync ?? 'interval';
  mkdirSync(params.dir, { recursive: true });
  const onNats = params.port !== undefined;
  const { Ferry } = await loadFerry();
  const ferry = onNats ? await Ferry.open({ backend: { kind: 'nats', servers: [`nats://127.0.0.1:${params.port}`] } }) : await Ferry.open({ dir: params.dir, threads: params.threads ?? 0, fsync, ...(params.metrics === false ? { metrics: false } : {}) });
  const topic = topicOf(onNats);
  await ferry.createTopic(topic, { partitions: params.partitions ?? 4, backoff: { kind: 'fixed', delayMs: 0 } });
  const producer = ferry.producer();
  return {
    confirmMeans: onNats ? 'PubAck from the JetStream server (file storage)' : CONFIRM_MEANS[fsync],
    publish: async (value) => void (await producer.publish(topic, { value })),
    publishMany: async (values) => void (await producer.publishMany(topic, values.map((value) => ({ value })))),
    async consume(prefetch, onDelivery): Promise<Subscription> {
      const consumer = ferry.consumer<Uint8Array>(GROUP, { topics: [topic], maxInFlight: prefetch });
      const loop = (async () => {
        for await (const d of consumer) {
          const delivery: TargetDelivery = { value: d.value, ack: () => d.ack().catch(staleIsFalse), nack: () => d.nack({ delayMs: 0 }) };
          onDelivery(delivery);
        }
      })();
      loop.catch(() => {}); // surfaced by stop()
      return {
        async stop() {
          await consumer.close({ timeoutMs: 1000 });
          await loop;
        },
      };
    },
    stored: async () => undefined, // no count API: W2 and W4 check every confirmed message is delivered
    unsettled: async () => undefined,
    async close() {
      await producer.close();
      await ferry.close();
      rmSync(params.dir, { recursive: true, force: true });
    },
  };
}
