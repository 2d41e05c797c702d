// A three-node JetStream cluster on loopback (issue 15): topics with replicas 3 survive the stream
// leader's SIGKILL mid-stream: no confirmed message is lost, every group gets everything, and the
// killed node rejoins. Skipped, with the reason, where nats-server cannot start.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Ferry, type NatsFerry } from '../../index.ts';
import { startNats, type NatsSetup } from '../../test-support/nats-server.ts';

let setup: NatsSetup | { skip: string };
let ferry: NatsFerry | undefined;

beforeAll(async () => {
  setup = await startNats(3);
}, 30_000);

afterAll(async () => {
  await ferry?.close({ timeoutMs: 0 });
  if (!('skip' in setup)) await setup.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The stream's leader and whether every replica is current, asked of the cluster with a plain client. */
async function streamCluster(servers: string[], stream: string): Promise<{ leader: string | undefined; current: boolean }> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers });
  try {
    const info = await (await jetstreamManager(nc, { timeout: 3000 })).streams.info(stream);
    const replicas = info.cluster?.replicas ?? [];
    return { leader: info.cluster?.leader, current: replicas.length === 2 && replicas.every((r) => r.current) };
  } finally {
    await nc.close();
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(250);
  }
}

describe('a 3-node cluster, replicas 3', () => {
  it('loses no confirmed message when the stream leader is killed mid-stream, and the node rejoins', { timeout: 180_000 }, async (ctx: TestContext) => {
    if ('skip' in setup) ctx.skip(setup.skip);
    const { servers, nodes } = setup as NatsSetup;
    // The cluster elects its JetStream meta leader first: open and create retry until it answers.
    ferry = await waitFor('opening on the cluster', () => Ferry.open({ backend: { kind: 'nats', servers, replicas: 3, requestTimeoutMs: 3000 } }), 20_000);
    await waitFor('creating the topic', () => ferry!.createTopic('replicated', { partitions: 3, ackTimeoutMs: 3000 }).then(() => true), 20_000);
    const leader = await waitFor('a stream leader', async () => (await streamCluster(servers, 'ferry_replicated')).leader, 20_000);
    const victim = nodes.find((n) => n.name === leader);
    if (!victim) throw new Error(`leader ${String(leader)} is none of ${nodes.map((n) => n.name).join(', ')}`);

    const producer = ferry.producer({ deliveryTimeoutMs: 30_000 });
    const confirmed: number[] = [];
    const publishing = (async () => {
      for (let i = 0; i < 150; i++) {
        await producer.publish('replicated', { value: i, key: `k${i % 10}` });
        confirmed.push(i);
      }
    })();
    await waitFor('some confirms', async () => (confirmed.length >= 40 ? true : undefined), 20_000);
    await victim.stop('SIGKILL'); // mid-stream: publishes in flight fail over to the new leader
    await publishing;
    expect(confirmed).toHaveLength(150);

    for (const group of ['billing', 'audit']) {
      const consumer = ferry.consumer<number>(group, { topics: ['replicated'] });
      const seen = new Set<number>();
      const run = consumer.run((d) => void seen.add(d.value), { concurrency: 8 });
      const failed = run.then(() => undefined, (error: unknown) => error); // reported below, never unhandled
      // Long deadlines: after losing a node the cluster elects leaders again, slowly on a loaded machine.
      await waitFor(`group ${group} to see everything`, async () => (seen.size === 150 ? true : undefined), 60_000).catch(async (error: unknown) => {
        throw (await Promise.race([failed, new Promise((resolve) => setTimeout(resolve, 100))])) ?? error;
      });
      await consumer.close();
      await run;
      expect([...seen].sort((a, b) => a - b)).toEqual(confirmed);
    }

    await victim.restart();
    const { current } = await waitFor('the killed node to catch up', async () => ((await streamCluster(servers, 'ferry_replicated')).current ? { current: true } : undefined), 60_000);
    expect(current).toBe(true);
  });
});
