// How fast are the in-thread hot paths alone (tinybench: encode, frame, frame + CRC, decode, WAL
// append and the engine's publish -> deliver -> ack step, on the in-memory disk)? In a cell of
// its own so its figures land in the rows, the report and --compare like every other.
import type { Metric } from '../lib/cell-output.ts';
import type { Scenario } from '../lib/scenario.ts';
import { decodeKey, encodeKey } from '../limits/keys.ts';
import { measureHotPaths } from '../micro/hot-paths.ts';

/** The limit each hot path is held against, where one applies (100 B messages). */
const LIMITS: Readonly<Record<string, string>> = { 'encode (msgpack record)': encodeKey(100), 'decode (meta + body)': decodeKey(100) };

export const micro: Scenario = {
  name: 'micro',
  question: 'How fast are the in-thread hot paths on their own (tinybench, steps of 100 messages)?',
  kind: 'scenario',
  plan: (profile) => [{ id: 'micro: hot paths', scenario: 'micro', system: 'ferry', params: { timeMs: profile.limitMs * 2, warmupMs: profile.limitMs / 2 } }],
  async run(params) {
    const paths = await measureHotPaths(params['timeMs'] as number, params['warmupMs'] as number);
    const failed = paths.filter((p) => p.state !== 'completed');
    const metrics: Metric[] = paths.map((p) => ({ name: `${p.name} msg/s`, unit: 'msg/s', value: p.msgPerSec, better: 'higher', ...(LIMITS[p.name] ? { limits: [LIMITS[p.name]!] } : {}) }));
    return { check: failed.length ? { ok: false, detail: `${failed.map((p) => `${p.name}: ${p.state}`).join(', ')}` } : { ok: true, detail: `${paths.length} hot paths` }, metrics };
  },
};
