// How fast does a backlog drain when every tenth message fails its first attempt, and how soon
// after the failure does the redelivery come, against the delay asked for (0 ms) (W4)?
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell, threadsLabel } from './ferry-cells.ts';

export const redelivery: Scenario = {
  name: 'redelivery',
  question: 'With 10% failing once (nack, delay 0): the drain rate and the fail -> redelivery delay (W4)?',
  kind: 'scenario',
  plan: (profile) => profile.threads.map((t) => ferryCell('redelivery', `10% fail once, ${threadsLabel(t)}`, 'w4', profile, { threads: t })),
  run: runFerryCell,
};
