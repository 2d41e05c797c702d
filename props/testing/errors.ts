// Typed errors of `ferry/testing`, with stable codes, registered so they cross threads like the
// engine's own. Runs on the caller's thread.
import { FerryError, registerErrorCode } from '../../wal/index.ts';

/**
 * The simulated process crashed while this call was on its way: the engine that took it is gone.
 * Publish again through `sim.ferry` (the engine reopened from what the disk kept); the first try
 * may or may not have been stored, exactly as after a real crash.
 */
export class SimulatedCrashError extends FerryError {
  static readonly code = 'SIMULATED_CRASH';
  constructor(what: string) {
    super(SimulatedCrashError.code, `${what}: the simulated process crashed before a reply came; retry through sim.ferry (the restarted engine)`, true);
  }
}

/** A simulated store's transaction read a key that another transaction changed before it committed. */
export class TransactionConflictError extends FerryError {
  static readonly code = 'TRANSACTION_CONFLICT';
  constructor(keys: readonly string[]) {
    super(TransactionConflictError.code, `transaction conflict on ${keys.slice(0, 3).map((k) => JSON.stringify(k)).join(', ')}: another transaction changed it since this one read it; nothing was written, run the transaction again`, true, { details: { keys: [...keys] } });
  }
}

/** A check over a simulation's history failed: `details.violations` lists what broke it. */
export class InvariantViolatedError extends FerryError {
  static readonly code = 'INVARIANT_VIOLATED';
  constructor(invariant: string, violations: readonly string[]) {
    const shown = violations.slice(0, 8).join('\n  ');
    const more = violations.length > 8 ? `\n  … and ${violations.length - 8} more` : '';
    super(InvariantViolatedError.code, `${invariant} does not hold:\n  ${shown}${more}`, false, { details: { invariant, violations: [...violations] } });
  }
}

/**
 * The workload waited for something that never came (a promise on a crashed engine, a consumer
 * that onRestart did not re-create), or `settle()` found groups still behind when its time ran out.
 */
export class SimulationStuckError extends FerryError {
  static readonly code = 'SIMULATION_STUCK';
  constructor(what: string, virtualMs: number) {
    super(SimulationStuckError.code, `${what} after ${virtualMs} ms of virtual time. Create consumers in sim.process() (it runs again after every restart), and publish with sim.publish() (it retries across crashes)`, false, { details: { virtualMs } });
  }
}

/**
 * A simulated run failed: the workload threw (an assertion, an invariant). The message carries the
 * seed and the call that replays the run exactly; `cause` is what the workload threw.
 */
export class SimulationFailedError extends FerryError {
  static readonly code = 'SIMULATION_FAILED';
  constructor(seed: number, plan: unknown, replay: string, summary: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(SimulationFailedError.code, `simulation failed with seed ${seed} (${summary}):\n${why}\n\nReplay it exactly:\n  ${replay}\n`, false, { cause, details: { seed, plan, replay } });
  }
}

for (const cls of [SimulatedCrashError, TransactionConflictError, InvariantViolatedError, SimulationStuckError, SimulationFailedError]) {
  registerErrorCode(cls.code, cls as unknown as typeof FerryError);
}
