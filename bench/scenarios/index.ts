// Every scenario and limit `npm run bench` knows, by name: the runner plans from this list and a
// cell's child process finds its scenario here. To add a question: a file in scenarios/, listed here.
import type { Scenario } from '../lib/scenario.ts';
import { disk } from '../limits/disk.ts';
import { msgpack } from '../limits/msgpack.ts';
import { transfer } from '../limits/transfer.ts';
import { consume } from './consume.ts';
import { exactlyOnce } from './exactly-once.ts';
import { fsyncPolicies } from './fsync-policies.ts';
import { keyOrder } from './key-order.ts';
import { latency } from './latency.ts';
import { leaseExpiry } from './lease-expiry.ts';
import { memory } from './memory.ts';
import { metricsCost } from './metrics-cost.ts';
import { micro } from './micro.ts';
import { payloads } from './payloads.ts';
import { publish } from './publish.ts';
import { recovery } from './recovery.ts';
import { redelivery } from './redelivery.ts';
import { peerWorkloads } from '../peers/peer-workloads.ts';

/** The physical limits, measured by every run. */
export const LIMITS: readonly Scenario[] = [disk, msgpack, transfer];

/** The questions `npm run bench` answers, in report order. */
export const SCENARIOS: readonly Scenario[] = [publish, consume, latency, redelivery, leaseExpiry, keyOrder, recovery, memory, fsyncPolicies, payloads, exactlyOnce, micro, metricsCost];

/** Every scenario a cell may name (the peers' comparison included). */
export const ALL: readonly Scenario[] = [...LIMITS, ...SCENARIOS, peerWorkloads];

export function scenarioNamed(name: string): Scenario {
  const found = ALL.find((s) => s.name === name);
  if (!found) throw new Error(`unknown scenario ${name}; known: ${ALL.map((s) => s.name).join(', ')}`);
  return found;
}
