// BullMQ as a benchmark target, on the Redis started with `appendfsync always`: queue.add per
// message (addBulk for a batch), a Worker whose processor settles when the workload does (its
// concurrency = prefetch), resolving to ack and throwing to fail an attempt (retried at once:
// attempts 2, no backoff). Payloads travel base64 in the job's JSON data, as BullMQ stores data.
import { Queue, Worker, type Job } from 'bullmq';
import type { Subscription, Target, TargetParams } from '../adapters/target.ts';

type Data = { v: string };

export async function openBullmq(params: TargetParams): Promise<Target> {
  const connection = { host: '127.0.0.1', port: params.port!, maxRetriesPerRequest: null };
  const name = `bench-${process.pid}-${Date.now()}`;
  const queue = new Queue<Data>(name, { connection });
  await queue.waitUntilReady();
  const options = { attempts: 2, removeOnComplete: true, removeOnFail: true };
  const data = (value: Uint8Array): Data => ({ v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') });
  const counts = async (): Promise<number> => {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(c).reduce((a, b) => a + b, 0);
  };
  return {
    confirmMeans: 'job stored by a Lua script on Redis with appendfsync always (fsync before the reply)',
    publish: async (value) => void (await queue.add('m', data(value), options)),
    publishMany: async (values) => void (await queue.addBulk(values.map((v) => ({ name: 'm', data: data(v), opts: options })))),
    async consume(prefetch, onDelivery): Promise<Subscription> {
      const worker = new Worker<Data>(
        name,
        (job: Job<Data>) =>
          new Promise<void>((resolve, reject) => {
            onDelivery({
              value: Buffer.from(job.data.v, 'base64'),
              ack: async () => resolve(),
              nack: async () => reject(new Error('failed attempt (benchmark)')),
            });
          }),
        { connection, concurrency: prefetch },
      );
      worker.on('error', () => {}); // surfaced as unsettled messages by the workload's check
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    stored: counts,
    unsettled: counts,
    async close() {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    },
  };
}
