// How long from publish() to the consumer's callback at a fixed offered rate (W3)? Latencies run
// from each message's due time (coordinated omission corrected), from an HdrHistogram.
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell, threadsLabel } from './ferry-cells.ts';

export const latency: Scenario = {
  name: 'latency',
  question: 'How long from publish() to delivery at 1k, 5k and 50k msg/s (W3: p50, p99, p99.9, max)?',
  kind: 'scenario',
  plan: (profile) => profile.threads.flatMap((t) => profile.rates.map((rate) => ferryCell('latency', `${rate} msg/s, ${threadsLabel(t)}`, 'w3', profile, { threads: t, rate }))),
  run: runFerryCell,
};
