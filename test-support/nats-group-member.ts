// A child process for backends/nats/multi-process.test.ts: one member of a consumer group on NATS.
// argv: <servers comma-separated> <topic> <group>. Prints one JSON line per settle:
// { value, key, attempt, at: 'nack' | 'ack', deliveredAt, pid } (times on the wall clock, in ms
// with fractions, comparable across processes). Fails the first attempt of every 7th message. Closes
// gracefully on 'stop' from stdin.
import { Ferry } from '../index.ts';

const [servers, topic, group] = process.argv.slice(2) as [string, string, string];
const ferry = await Ferry.open({ backend: { kind: 'nats', servers: servers.split(',') } });
const consumer = ferry.consumer<number>(group, { topics: [topic], ordering: 'key', maxInFlight: 8 });
const wallNow = (): number => performance.timeOrigin + performance.now();
process.stdin.on('data', (chunk) => {
  if (chunk.toString().includes('stop')) void ferry.close({ timeoutMs: 2000 }).then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
await consumer.run(
  async (d) => {
    const deliveredAt = wallNow();
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
    const line = { value: d.value, key: d.key, attempt: d.attempt, deliveredAt, pid: process.pid };
    if (d.value % 7 === 0 && d.attempt === 1) {
      await d.nack({ delayMs: 5 });
      process.stdout.write(`${JSON.stringify({ ...line, at: 'nack' })}\n`);
      return;
    }
    await d.ack(); // printed only once the server confirmed it
    process.stdout.write(`${JSON.stringify({ ...line, at: 'ack' })}\n`);
  },
  { concurrency: 4 },
);
