// How do publish and consume rates change with payloads of 1 KiB and 64 KiB (100 B: the publish and
// consume scenarios)? The quick profile has none.
import type { Scenario } from '../lib/scenario.ts';
import { ferryCell, runFerryCell } from './ferry-cells.ts';

/** Bytes of payload one cell publishes at most (64 KiB messages get fewer of them). */
const MAX_BYTES = 512 * 1024 ** 2;

export const payloads: Scenario = {
  name: 'payloads',
  question: 'How do publish and consume rates change with the payload size (100 B, 1 KiB, 64 KiB)?',
  kind: 'scenario',
  plan: (profile) =>
    profile.payloads.flatMap((bytes) => [
      ferryCell('payloads', `publishMany x100, ${bytes} B`, 'w1-many', profile, { payloadBytes: bytes, maxBytes: MAX_BYTES }),
      ferryCell('payloads', `consume, ${bytes} B`, 'w2', profile, { payloadBytes: bytes, maxBytes: MAX_BYTES }),
    ]),
  run: runFerryCell,
};
