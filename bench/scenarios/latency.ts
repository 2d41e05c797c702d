// How long from publish() to the consumer's callback at a fixed offered rate (W3)? Latencies run
// from each message's due time (coordinated omission corrected), from an HdrHistogram.
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell, threadsLabel } from './ferry-cells.ts';

export const latency: Scenario = {
  name: 'latency',
  question: 'How long from publish() to delivery at 1k, 5k and 50k msg/s (W3: p50, p99, p99.9, max)?',
  kind: 'scenario',
  plan: (profile) => [
    ...profile.threads.flatMap((t) => profile.rates.map((rate) => ferryCell('latency', `${rate} msg/s, ${threadsLabel(t)}`, 'w3', profile, { threads: t, rate }))),
    // One partition beside four: each partition fsyncs its own file, and on ext4 the syncs of
    // several files queue behind one another in the journal, so a confirm (and the delivery that
    // waits for it) takes longer the more partitions sync at once.
    ferryCell('latency', `5000 msg/s, threads=0, 1 partition`, 'w3', profile, { threads: 0, rate: 5000, partitions: 1 }),
  ],
  run: runFerryCell,
};
