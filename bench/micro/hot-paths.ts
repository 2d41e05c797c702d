// `npm run bench:micro`: tinybench micro-benchmarks of the in-thread hot paths, each step over a
// batch of BATCH messages of 100 B (so a step is long enough for the timer): encode, frame,
// frame + CRC, decode, a WAL append on the in-memory disk, and the engine's publish -> deliver
// -> ack step (partition actor and delivery) on the in-memory disk. Reported as messages per
// second from the mean period (1000 / period x BATCH) and the p99 of a step, per STYLE.md.
// `--quick`: shorter runs. These are in-process figures; the end-to-end ones are `npm run bench`.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { Ferry } from '../../core/ferry.ts';
import { decodeBody, decodeMeta, encodeMessage, frameMessages } from '../../core/codec.ts';
import { realClock, SeededRandom, WriteAheadLog } from '../../wal/index.ts';
import { MemoryFileSystem } from '../../wal/fault-disk.ts';
import { framingBytes, frameBatches, type AppendInput } from '../../wal/frame-batches.ts';
import { formatRate, formatTable } from '../report/format.ts';
import { template } from '../workloads/payload.ts';

const BATCH = 100;
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** One hot path's figures: messages per second (from the mean period) and a step's p99 in µs. */
export interface HotPath {
  readonly name: string;
  readonly state: string;
  readonly msgPerSec: number;
  readonly stepP99Us: number;
  readonly rmePercent: number;
}

/** Runs every hot path for `timeMs` each (after `warmupMs`), in this thread. */
export async function measureHotPaths(timeMs: number, warmupMs: number): Promise<HotPath[]> {
  const bench = new Bench({ time: timeMs, warmupTime: warmupMs });
  const value = template(100);
  const messages = Array.from({ length: BATCH }, () => ({ value }));
  const records = messages.map((m) => encodeMessage(m, 0, MAX_MESSAGE_BYTES));
  const payload = frameMessages(records);
  const input: AppendInput = { recordCount: BATCH, payload, timestamp: 0 };
  const frame = new Uint8Array(framingBytes([input]));
  let sink = 0;

  const log = await WriteAheadLog.open({ dir: '/micro/log', fs: new MemoryFileSystem({ random: new SeededRandom(1) }), clock: realClock, fsync: 'none' });
  const ferry = await Ferry.open({ dir: '/micro/ferry', fs: new MemoryFileSystem({ random: new SeededRandom(2) }), clock: realClock, random: new SeededRandom(3), fsync: 'none' });
  await ferry.createTopic('micro', { partitions: 1 });
  const producer = ferry.producer();
  const consumer = ferry.consumer<Uint8Array>('micro', { topics: ['micro'], maxInFlight: BATCH });

  bench
    .add('encode (msgpack record)', () => {
      for (const m of messages) sink += encodeMessage(m, 0, MAX_MESSAGE_BYTES).length;
    })
    .add('frame messages into a batch', () => {
      sink += frameMessages(records).length;
    })
    .add('frame + CRC (WAL batch header)', () => {
      sink += frameBatches(frame, [input], 0, 0, 0).lastCrc;
    })
    .add('decode (meta + body)', () => {
      for (const r of records) sink += decodeMeta(r).deliverAt + (decodeBody(r).value as Uint8Array).length;
    })
    .add('WAL append (in-memory disk)', async () => {
      sink += (await log.append(input)).baseOffset;
    })
    .add('engine publish -> deliver -> ack (in-memory disk)', async () => {
      await producer.publishMany('micro', messages);
      const acks: Promise<void>[] = [];
      for (let i = 0; i < BATCH; i++) {
        const d = await consumer.next();
        if (!d) throw new Error('consumer closed');
        acks.push(d.ack());
      }
      await Promise.all(acks);
    });

  try {
    await bench.run();
  } finally {
    await consumer.close();
    await producer.close();
    await ferry.close();
    await log.close();
  }
  if (sink === 0) throw new Error('the steps did no work');
  return bench.tasks.map((task): HotPath => {
    const r = task.result;
    if (r.state !== 'completed') return { name: task.name, state: r.state, msgPerSec: Number.NaN, stepP99Us: Number.NaN, rmePercent: Number.NaN };
    return { name: task.name, state: r.state, msgPerSec: (1000 / r.period) * BATCH, stepP99Us: r.latency.p99 * 1000, rmePercent: r.latency.rme };
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const paths = await measureHotPaths(quick ? 200 : 1000, quick ? 50 : 200);
  const rows = paths.map((p) => [p.name, p.state === 'completed' ? formatRate(p.msgPerSec) : p.state, Number.isFinite(p.stepP99Us) ? p.stepP99Us.toFixed(1) : '', Number.isFinite(p.rmePercent) ? `${p.rmePercent.toFixed(1)}%` : '']);
  console.log(formatTable(['hot path (steps of 100 messages of 100 B)', 'msg/s', 'step p99 (us)', 'rme'], rows));
}

// Only when run as a script (the micro scenario imports measureHotPaths).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
