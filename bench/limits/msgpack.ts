// The CPU's limit for the bytes Ferry encodes once per message: msgpackr encoding and decoding of
// [value, headers] records with a Buffer value, on one core (the producer's and consumer's thread).
import { Packr } from 'msgpackr';
import type { CellOutput, Metric } from '../lib/cell-output.ts';
import type { Scenario } from '../lib/scenario.ts';
import { ISSUE_11_SHAPE } from '../workloads/shape.ts';
import { template } from '../workloads/payload.ts';
import { decodeKey, encodeKey } from './keys.ts';
import { ratePerSecond } from './timed-loop.ts';

/** Records per step, so the loop's overhead is small against the work. */
const PER_STEP = 100;

async function measure(params: { bytes: number; ms: number }): Promise<Metric[]> {
  const packr = new Packr({ useRecords: false });
  const value = template(params.bytes);
  const records = Array.from({ length: PER_STEP }, () => [value, null]);
  const encoded = records.map((r) => packr.pack(r).slice()); // slice: pack's output is reused by the next call
  let sink = 0;
  const encode = await ratePerSecond(params.ms, PER_STEP, () => {
    for (const r of records) sink += packr.pack(r).length;
  });
  const decode = await ratePerSecond(params.ms, PER_STEP, () => {
    for (const e of encoded) sink += (packr.unpack(e) as [Uint8Array, null])[0].length;
  });
  if (sink === 0) throw new Error('the loops did no work');
  return [
    { name: encodeKey(params.bytes), unit: 'msg/s', value: encode, better: 'higher' },
    { name: decodeKey(params.bytes), unit: 'msg/s', value: decode, better: 'higher' },
  ];
}

async function run(params: { payloads: number[]; ms: number }): Promise<CellOutput> {
  const metrics: Metric[] = [];
  for (const bytes of params.payloads) metrics.push(...(await measure({ bytes, ms: params.ms })));
  return { check: { ok: true, detail: 'encode/decode loops' }, metrics };
}

export const msgpack: Scenario = {
  name: 'msgpack',
  question: 'How many messages per second can one core msgpack-encode and decode?',
  kind: 'limit',
  plan: (profile) => [{ id: 'limit: msgpack', scenario: 'msgpack', system: 'limit', params: { payloads: [...new Set([ISSUE_11_SHAPE.payloadBytes, ...profile.payloads])], ms: profile.limitMs } }],
  run: (params) => run(params as unknown as { payloads: number[]; ms: number }),
};
