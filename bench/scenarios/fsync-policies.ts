// What does each fsync policy cost, side by side on the same disk (W1 publishMany and W3 at 5k/s)?
// The quick profile leaves out 'interval' (the publish scenario's publishMany cell is the same).
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell } from './ferry-cells.ts';

const POLICIES = ['always', 'interval', 'none'] as const;

export const fsyncPolicies: Scenario = {
  name: 'fsync-policies',
  question: "What does each fsync policy ('always', 'interval', 'none') cost in publish rate and latency?",
  kind: 'scenario',
  plan: (profile) =>
    POLICIES.filter((p) => profile.allVariants || p !== 'interval').flatMap((fsync) => [
      ferryCell('fsync-policies', `publishMany x100, fsync=${fsync}`, 'w1-many', profile, { fsync }),
      ...(profile.name === 'full' ? [ferryCell('fsync-policies', `5000 msg/s latency, fsync=${fsync}`, 'w3', profile, { fsync, rate: 5000 })] : []),
    ]),
  run: runFerryCell,
};
