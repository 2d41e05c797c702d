// The thread hop's limit: batches of encoded messages (one ArrayBuffer each, transferred, not
// copied) posted to a worker_threads worker that touches them and acknowledges each, with a few
// batches in flight, as Ferry's worker runtime moves batches to its shards.
import { Worker } from 'node:worker_threads';
import { hrtime } from 'node:process';
import type { CellOutput, Metric } from '../lib/cell-output.ts';
import type { Scenario } from '../lib/scenario.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { transferKey } from './keys.ts';

/** Batches in flight between the threads. */
const IN_FLIGHT = 8;

// Plain JavaScript, evaluated in the worker: no TypeScript loader needed there.
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (buf) => { const v = new Uint8Array(buf); parentPort.postMessage(v[0] + v[v.length - 1]); });
`;

async function measure(params: { bytes: number; ms: number }): Promise<Metric> {
  const batchBytes = ISSUE_11_SHAPE.batch * (params.bytes + 8); // + a little framing per message
  const worker = new Worker(WORKER, { eval: true });
  try {
    const measure = (ms: number): Promise<number> =>
      new Promise((resolve) => {
        const start = hrtime.bigint();
        const until = start + BigInt(Math.round(ms * 1e6));
        let acked = 0;
        let sent = 0;
        let stopping = false;
        const send = (): void => {
          sent++;
          const buf = new ArrayBuffer(batchBytes);
          worker.postMessage(buf, [buf]);
        };
        const onAck = (): void => {
          acked++;
          if (!stopping && hrtime.bigint() >= until) stopping = true;
          if (!stopping) send();
          else if (acked === sent) {
            worker.off('message', onAck);
            resolve((acked * ISSUE_11_SHAPE.batch) / (Number(hrtime.bigint() - start) / 1e9));
          }
        };
        worker.on('message', onAck);
        for (let i = 0; i < IN_FLIGHT; i++) send();
      });
    await measure(params.ms / 4);
    const rate = await measure(params.ms);
    return { name: transferKey(params.bytes), unit: 'msg/s', value: rate, better: 'higher' };
  } finally {
    await worker.terminate();
  }
}

async function run(params: { payloads: number[]; ms: number }): Promise<CellOutput> {
  const metrics: Metric[] = [];
  for (const bytes of params.payloads) metrics.push(await measure({ bytes, ms: params.ms }));
  return { check: { ok: true, detail: `${IN_FLIGHT} batches of ${ISSUE_11_SHAPE.batch} messages in flight` }, metrics };
}

export const transfer: Scenario = {
  name: 'transfer',
  question: 'How many messages per second can batches carry between worker threads?',
  kind: 'limit',
  plan: (profile) => [{ id: 'limit: worker_threads transfer', scenario: 'transfer', system: 'limit', params: { payloads: [...new Set([ISSUE_11_SHAPE.payloadBytes, ...profile.payloads])], ms: profile.limitMs } }],
  run: (params) => run(params as unknown as { payloads: number[]; ms: number }),
};
