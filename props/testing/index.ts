// `ferry/testing`: fault tests for users' own handlers. The public face of the simulator: the
// real engine on virtual time and the in-memory fault disk, with crashes, lease expiries,
// redeliveries and duplicates a seed picks and replays (docs/TESTING.md). Every export is listed.
// Nothing here names fast-check's types, so a project without fast-check type-checks against it;
// the fast-check arbitrary is its own entry, `ferry/testing/fast-check` (fast-check.ts).
export { simulate } from './simulate.ts';
export type { SettleOptions, SimulateOptions, SimulatedClock, SimulatedEngineOptions, Simulation, SimulationReport } from './simulate.ts';
export type { FaultEvent, FaultKind, FaultPlan, FaultPlanOptions, FaultRates, FaultsOption, NetworkPlan, SimulationInput } from './plan.ts';
export { expectEffectsExactlyOnce, expectHandledAtLeastOnce, expectKeyOrder, expectNoDeadLetterWithoutFailure } from './invariants.ts';
export type { DeadLetterRecord, DeliveryRecord, EffectRecord, FaultRecord, PublishedMessage, SettleRecord, SimulationHistory } from './history.ts';
export type { SimulatedStore, Transaction } from './store.ts';
export { InvariantViolatedError, SimulatedCrashError, SimulationFailedError, SimulationStuckError, TransactionConflictError } from './errors.ts';
