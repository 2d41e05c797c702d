// fast-check integration (the `ferry/testing/fast-check` entry, apart so that `ferry/testing`'s
// types need no fast-check): an arbitrary of simulation inputs ({ seed, faults: an explicit plan }),
// for `fc.assert(fc.asyncProperty(faultPlans(fc), (input) => simulate(input, workload)))`. A
// failing input shrinks (fewer, earlier faults; calmer network; smaller seed) and prints as plain
// data, and simulate's error carries the replay call. The caller passes its own fast-check, so
// the package does not depend on it (an optional peer dependency, for the types).
import type * as FastCheck from 'fast-check';
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import { refuseUnknownOptions } from '../../core/option-names.ts';
import { DEFAULT_HORIZON_MS, FAULT_KINDS, type FaultEvent, type FaultKind, type FaultPlanOptions, type SimulationInput } from './plan.ts';

/** The parts of fast-check `faultPlans` uses: pass `fc` (`import fc from 'fast-check'`). */
export type FastCheckLike = Pick<typeof FastCheck, 'record' | 'integer' | 'array' | 'constantFrom' | 'constant'>;

/** Scales a drawn size (0..999) to the length or size of an event of `kind`. */
function eventMs(kind: FaultKind, size: number): number | undefined {
  switch (kind) {
    case 'pause':
      return 500 + size * 5;
    case 'clockJump':
      return (size % 2 === 0 ? 1 : -1) * (1000 + size * 3600);
    case 'fsyncFailure':
      return 50 + size;
    case 'diskFull':
      return 100 + size * 3;
    default:
      return undefined;
  }
}

/** An arbitrary of `{ seed, faults }` for `simulate`; see the module comment. */
export function faultPlans(fc: FastCheckLike, options: FaultPlanOptions = {}): FastCheck.Arbitrary<SimulationInput> {
  refuseUnknownOptions('faultPlans options', options, ['kinds', 'horizonMs', 'maxEvents', 'network', 'duplicatePublish']);
  const kinds = options.kinds ?? FAULT_KINDS;
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((k) => !FAULT_KINDS.includes(k))) throw new InvalidArgumentError(`faultPlans options.kinds must list some of ${FAULT_KINDS.join(', ')} (got ${showValue(kinds)})`);
  const horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
  const maxEvents = options.maxEvents ?? 8;
  if (!Number.isSafeInteger(horizonMs) || horizonMs < 1) throw new InvalidArgumentError(`faultPlans options.horizonMs must be a whole number of ms from 1 (got ${showValue(horizonMs)})`);
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 0 || maxEvents > 1000) throw new InvalidArgumentError(`faultPlans options.maxEvents must be a whole number from 0 to 1000 (got ${showValue(maxEvents)})`);
  const event = fc.record({ atMs: fc.integer({ min: 0, max: horizonMs }), kind: fc.constantFrom(...kinds), size: fc.integer({ min: 0, max: 999 }) }).map(({ atMs, kind, size }): FaultEvent => {
    const ms = eventMs(kind, size);
    return ms === undefined ? { atMs, kind } : { atMs, kind, ms };
  });
  const network = options.network ?? true;
  return fc.record({
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    faults: fc.record({
      events: fc.array(event, { maxLength: maxEvents }).map((events) => [...events].sort((a, b) => a.atMs - b.atMs)),
      network: fc.record({
        drop: network ? fc.constantFrom(0, 0.01, 0.03) : fc.constant(0),
        duplicate: network ? fc.constantFrom(0, 0.02, 0.1) : fc.constant(0),
        delay: fc.constant(0.5),
        maxDelayMs: fc.constant(20),
      }),
      duplicatePublish: options.duplicatePublish ?? true ? fc.constantFrom(0, 0.05, 0.2) : fc.constant(0),
    }),
  });
}
