// How fast does a backlog drain through the plain consumer loop, each message acked (W2, prefetch 1,000)?
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell, threadsLabel } from './ferry-cells.ts';

export const consume: Scenario = {
  name: 'consume',
  question: 'How fast does a backlog drain with a per-message ack (W2, prefetch 1,000)?',
  kind: 'scenario',
  plan: (profile) => profile.threads.map((t) => ferryCell('consume', `ack each, prefetch 1000, ${threadsLabel(t)}`, 'w2', profile, { threads: t })),
  run: runFerryCell,
};
