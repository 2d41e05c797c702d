// How fast does a backlog drain with per-key ordering over many keys (at most one message per key
// in flight), and does every key arrive in publish order?
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import { loadFerry } from '../lib/ferry-entry.ts';
import type { CellOutput } from '../lib/cell-output.ts';
import type { Scenario } from '../lib/scenario.ts';
import { decodeKey } from '../limits/keys.ts';
import { pipelined } from '../lib/pipelined.ts';
import { seqOf, stamp, template } from '../workloads/payload.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { PARTITIONS } from './ferry-cells.ts';

interface KeyOrderParams {
  readonly n: number;
  readonly keys: number;
  readonly threads: number | 'auto';
}

async function run(params: KeyOrderParams, dir: string): Promise<CellOutput> {
  const { n, keys, threads } = params;
  const { payloadBytes, batch, prefetch } = ISSUE_11_SHAPE;
  mkdirSync(join(dir, 'data'), { recursive: true });
  const { Ferry } = await loadFerry();
  const ferry = await Ferry.open({ dir: join(dir, 'data'), threads });
  try {
    await ferry.createTopic('bench', { partitions: PARTITIONS });
    const producer = ferry.producer();
    const base = template(payloadBytes);
    await pipelined((call) => producer.publishMany('bench', Array.from({ length: Math.min(batch, n - call * batch) }, (_, i) => ({ key: `k${(call * batch + i) % keys}`, value: stamp(base, call * batch + i) }))), Math.ceil(n / batch), 10);
    await producer.close();
    const consumer = ferry.consumer<Uint8Array>('bench', { topics: ['bench'], maxInFlight: prefetch, ordering: 'key' });
    const last = new Int32Array(keys).fill(-1);
    let outOfOrder = 0;
    let acked = 0;
    let ackErrors = 0;
    const start = hrtime.bigint();
    await new Promise<void>((resolve) => {
      void (async () => {
        for await (const d of consumer) {
          const seq = seqOf(d.value);
          const key = seq % keys;
          if (seq <= last[key]!) outOfOrder++;
          last[key] = seq;
          d.ack().then(() => void (++acked === n && resolve()), () => void ackErrors++);
        }
      })();
    });
    const seconds = Number(hrtime.bigint() - start) / 1e9;
    await consumer.close();
    const ok = outOfOrder === 0 && ackErrors === 0;
    return {
      check: { ok, detail: ok ? `${n} messages over ${keys} keys, each key in publish order` : `${outOfOrder} out of key order, ${ackErrors} acks failed` },
      metrics: [{ name: 'msg/s', unit: 'msg/s', value: n / seconds, better: 'higher', limits: [decodeKey(payloadBytes)] }],
    };
  } finally {
    await ferry.close();
  }
}

export const keyOrder: Scenario = {
  name: 'key-order',
  question: 'How fast does a backlog drain with per-key ordering over 10,000 keys, each key in order?',
  kind: 'scenario',
  plan: (profile) => profile.threads.map((t) => ({ id: `key-order: ${profile.keys} keys, threads=${t}`, scenario: 'key-order', system: 'ferry', params: { n: profile.n, keys: profile.keys, threads: t } })),
  run: (params, dir) => run(params as unknown as KeyOrderParams, dir),
};
