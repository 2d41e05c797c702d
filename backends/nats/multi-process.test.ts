// Several processes share one consumer group on NATS (issue 15): three child processes
// (test-support/nats-group-member.ts) consume one topic with ordering 'key'. Each message is acked
// exactly once across them, every process takes part, and per key the deliveries (retries
// included) follow publish order, across processes: the group's per-partition consumers let the
// server hand out one unacked message per partition to the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { Ferry, type NatsFerry } from '../../index.ts';
import { startNats, type NatsSetup } from '../../test-support/nats-server.ts';

interface Settle {
  readonly value: number;
  readonly key: string;
  readonly attempt: number;
  readonly at: 'ack' | 'nack';
  readonly deliveredAt: number;
  readonly pid: number;
}

let setup: NatsSetup | { skip: string };
let ferry: NatsFerry | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  setup = await startNats(1);
}, 30_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await ferry?.close({ timeoutMs: 0 });
  if (!('skip' in setup)) await setup.cleanup();
});

const MEMBER = fileURLToPath(new URL('../../test-support/nats-group-member.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Starts one member process; resolves once it is connected and consuming. */
function member(servers: string[], settles: Settle[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', TSX, MEMBER, servers.join(','), 'jobs', 'workers'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let rest = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const parsed = JSON.parse(line) as Settle | { ready: true };
        if ('ready' in parsed) resolve(child);
        else settles.push(parsed);
      }
    });
    child.once('exit', (code) => reject(new Error(`member exited with ${String(code)} before it was ready`)));
  });
}

describe('one group shared by several processes', () => {
  it('acks each message once across processes and keeps each key in order, retries included', async (ctx: TestContext) => {
    if ('skip' in setup) ctx.skip(setup.skip);
    const { servers } = setup as NatsSetup;
    ferry = await Ferry.open({ backend: { kind: 'nats', servers } });
    await ferry.createTopic('jobs', { partitions: 6, ackTimeoutMs: 5000 });
    const settles: Settle[] = [];
    await Promise.all([0, 1, 2].map(() => member(servers, settles)));
    const total = 180;
    await ferry.producer().publishMany('jobs', Array.from({ length: total }, (_, i) => ({ value: i, key: `k${i % 12}` })));
    const deadline = Date.now() + 40_000;
    const acked = (): Settle[] => settles.filter((s) => s.at === 'ack');
    while (acked().length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would show up meanwhile
    for (const child of children) child.stdin!.write('stop\n');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((resolve) => c.once('exit', resolve)) : undefined)));

    const ackCount = new Map<number, number>();
    for (const s of acked()) ackCount.set(s.value, (ackCount.get(s.value) ?? 0) + 1);
    expect([...ackCount.keys()].sort((a, b) => a - b)).toEqual([...Array(total).keys()]);
    expect([...ackCount.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(acked().map((s) => s.pid)).size).toBe(3);
    expect(settles.filter((s) => s.at === 'nack')).toHaveLength(Math.ceil(total / 7));
    const byKey = new Map<string, Settle[]>();
    for (const s of settles) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
    for (const [key, list] of byKey) {
      const inDeliveryOrder = list.sort((a, b) => a.deliveredAt - b.deliveredAt).map((s) => s.value);
      expect(inDeliveryOrder, `key ${key}`).toEqual([...inDeliveryOrder].sort((a, b) => a - b));
    }
  });
});
