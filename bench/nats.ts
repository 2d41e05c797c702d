// How much does Ferry's NATS backend cost over raw JetStream through its own client (issue 15)?
//
// One private nats-server (JetStream, temp store, free port), one run, interleaved rounds; for
// each workload the same work goes through Ferry (`Ferry.open({ backend: { kind: 'nats' } })`) and
// through @nats-io/jetstream directly, with the same guarantees on both sides:
//   publish   N 100-byte messages, DEPTH in flight, each confirmed by its PubAck, with a message id
//   consume   a backlog of N, pulled and acked with the server's confirm (AckAck), CONCURRENCY handlers
// and reports each rate and Ferry's ratio to raw (the aim: >= 0.8). Flags: --n=20000
// --rounds=3. Run it on a quiet machine: `npm run bench -- nats`.
import { randomUUID } from 'node:crypto';
import { Ferry } from '../index.ts';
import { startNats } from '../test-support/nats-server.ts';
import { pipelined, type Benchmark } from './harness.ts';
import { formatFixed, formatRate, formatTable, machineInfo, writeResults } from './report.ts';

const DEPTH = 256;
const CONCURRENCY = 64;
const VALUE = Buffer.alloc(100, 7);

type Side = 'ferry' | 'raw';
type Rates = Record<'publish' | 'consume', Record<Side, number[]>>;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** One round through Ferry: publish rate, then consume+ack rate of what it published. */
async function ferryRound(servers: string[], n: number): Promise<{ publish: number; consume: number }> {
  const ferry = await Ferry.open({ backend: { kind: 'nats', servers } });
  try {
    const topic = `bench-${randomUUID().slice(0, 8)}`;
    await ferry.createTopic(topic, { partitions: 1, deadLetter: false });
    const producer = ferry.producer();
    const publishS = await timed(() => pipelined(() => producer.publish(topic, { value: VALUE }), n, DEPTH));
    const consumer = ferry.consumer(`g`, { topics: [topic], maxInFlight: CONCURRENCY * 2 });
    let acked = 0;
    const consumeS = await timed(
      () =>
        new Promise<void>((resolve, reject) => {
          consumer
            .run(
              () => {
                if (++acked === n) resolve();
              },
              { concurrency: CONCURRENCY },
            )
            .catch(reject);
        }),
    );
    await consumer.close();
    return { publish: n / publishS, consume: n / consumeS };
  } finally {
    await ferry.close({ timeoutMs: 0 });
  }
}

/** The same round through the JetStream client alone. */
async function rawRound(servers: string[], n: number): Promise<{ publish: number; consume: number }> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager, AckPolicy } = await import('@nats-io/jetstream');
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const stream = `raw_${randomUUID().slice(0, 8)}`;
    await jsm.streams.add({ name: stream, subjects: [`${stream}.*`] });
    const prefix = randomUUID();
    const publishS = await timed(() => pipelined((i) => js.publish(`${stream}.0`, VALUE, { msgID: `${prefix}.${i}` }), n, DEPTH));
    await jsm.consumers.add(stream, { durable_name: 'g', ack_policy: AckPolicy.Explicit });
    const consumer = await js.consumers.get(stream, 'g');
    const consumeS = await timed(async () => {
      const messages = await consumer.consume({ max_messages: CONCURRENCY * 2 });
      let acked = 0;
      const inFlight = new Set<Promise<unknown>>();
      for await (const m of messages) {
        const ack: Promise<unknown> = m.ackAck().then((): boolean => inFlight.delete(ack));
        inFlight.add(ack);
        if (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
        if (++acked === n) break;
      }
      await Promise.all(inFlight);
      messages.stop();
    });
    return { publish: n / publishS, consume: n / consumeS };
  } finally {
    await nc.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export const nats: Benchmark = {
  name: 'nats',
  question: "Ferry's NATS backend against raw JetStream, same server, same guarantees: what fraction of raw throughput does it keep?",
  async run(flags) {
    const n = Number(flags.get('n') ?? 20_000);
    const rounds = Number(flags.get('rounds') ?? 3);
    const setup = await startNats(1);
    if ('skip' in setup) {
      console.log(`skipped: ${setup.skip}`);
      return;
    }
    const rates: Rates = { publish: { ferry: [], raw: [] }, consume: { ferry: [], raw: [] } };
    try {
      for (let round = 0; round < rounds; round++) {
        // Interleaved, raw first on even rounds: neither side always gets the warmer server.
        const order: Side[] = round % 2 === 0 ? ['raw', 'ferry'] : ['ferry', 'raw'];
        for (const side of order) {
          const r = side === 'ferry' ? await ferryRound(setup.servers, n) : await rawRound(setup.servers, n);
          rates.publish[side].push(r.publish);
          rates.consume[side].push(r.consume);
        }
      }
    } finally {
      await setup.cleanup();
    }
    const rows = (['publish', 'consume'] as const).map((w) => {
      const ferry = median(rates[w].ferry);
      const raw = median(rates[w].raw);
      return [w, formatRate(ferry), formatRate(raw), formatFixed(ferry / raw, 2)];
    });
    console.log(formatTable(['workload', 'Ferry on NATS (msg/s)', 'raw JetStream (msg/s)', 'ratio (aim >= 0.8)'], rows));
    const file = writeResults('nats', { machine: machineInfo(setup.nodes[0]!.storeDir), n, rounds, depth: DEPTH, concurrency: CONCURRENCY, rates });
    console.log(`\nwritten to ${file}`);
  },
};
