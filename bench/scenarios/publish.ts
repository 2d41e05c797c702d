// How fast are messages confirmed durable (W1), as single publish() calls with 1,000 unconfirmed
// at most and as publishMany batches of 100, per thread count, and how long does a confirm take?
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell, threadsLabel } from './ferry-cells.ts';

export const publish: Scenario = {
  name: 'publish',
  question: 'How fast are messages confirmed durable (W1: publish() with 1,000 unconfirmed, publishMany of 100)?',
  kind: 'scenario',
  plan: (profile) =>
    profile.threads.flatMap((t) => [
      ferryCell('publish', `publish() window 1000, ${threadsLabel(t)}`, 'w1-each', profile, { threads: t }),
      ferryCell('publish', `publishMany x100 window 1000, ${threadsLabel(t)}`, 'w1-many', profile, { threads: t }),
    ]),
  run: runFerryCell,
};
