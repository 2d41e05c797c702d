// RabbitMQ as a benchmark target (amqplib): a durable quorum queue, persistent messages on a
// confirm channel, a consumer channel with prefetch and manual acks, basic.nack with requeue.
import { connect } from 'amqplib';
import type { Subscription, Target, TargetParams } from '../adapters/target.ts';

export async function openRabbit(params: TargetParams): Promise<Target> {
  const connection = await connect(`amqp://guest:guest@127.0.0.1:${params.port!}`);
  const publisher = await connection.createConfirmChannel();
  const queue = `bench-${process.pid}-${Date.now()}`;
  await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const send = (value: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      publisher.sendToQueue(queue, Buffer.from(value.buffer, value.byteOffset, value.byteLength), { persistent: true }, (error) => (error ? reject(error) : resolve()));
    });
  return {
    confirmMeans: 'publisher confirm after the quorum queue\'s Raft log is fsynced (batched), one node',
    publish: send,
    publishMany: async (values) => void (await Promise.all(values.map(send))),
    async consume(prefetch, onDelivery): Promise<Subscription> {
      const channel = await connection.createChannel();
      await channel.prefetch(prefetch);
      const { consumerTag } = await channel.consume(queue, (msg) => {
        if (!msg) return;
        onDelivery({
          value: msg.content,
          ack: async () => channel.ack(msg),
          nack: async () => channel.nack(msg, false, true),
        });
      }, { noAck: false });
      return {
        async stop() {
          await channel.cancel(consumerTag);
          await channel.close(); // unacked messages go back to the queue
        },
      };
    },
    stored: async () => (await publisher.checkQueue(queue)).messageCount,
    unsettled: async () => (await publisher.checkQueue(queue)).messageCount,
    async close() {
      await publisher.deleteQueue(queue).catch(() => {});
      await connection.close();
    },
  };
}
