// The double charge, found and fixed (issue 16): the simulator finds a seed where the naive
// payment handler charges twice, the printed plan replays that failure exactly, and the handler
// that dedupes by payment id passes the same seed and many more. A planted bug the tool must catch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultPlans } from '../../props/testing/fast-check.ts';
import { simulate, SimulationFailedError, type FaultPlan } from '../../props/testing/index.ts';
import { chargeNaively, chargeOnce, payments } from './payments.ts';

async function firstFailure(seeds: number, workload: Parameters<typeof simulate>[1]): Promise<SimulationFailedError | undefined> {
  for (let seed = 1; seed <= seeds; seed++) {
    const failure = await simulate({ seed }, workload).then(() => undefined, (e: unknown) => e);
    if (failure) return failure as SimulationFailedError;
  }
  return undefined;
}

describe('payments: a handler without dedupe', () => {
  it('double-charges at some seed, and the failure names the seed and the call that replays it', async () => {
    const failure = await firstFailure(30, payments(chargeNaively));
    expect(failure).toBeInstanceOf(SimulationFailedError);
    expect(failure!.message).toMatch(/charge "pay-\d+" happened \d+ times/);
    const { seed, plan, replay } = failure!.details as { seed: number; plan: FaultPlan; replay: string };
    expect(failure!.message).toContain(`seed ${seed}`);
    expect(replay).toBe(`simulate({ seed: ${seed}, faults: ${JSON.stringify(plan)} }, paymentsWorkload)`);
    expect(failure!.message).toContain(replay);
    // Replayed from the printed call (the plan as JSON, the way a user pastes it): the same run, the same failure.
    const again = await simulate({ seed, faults: JSON.parse(JSON.stringify(plan)) as FaultPlan }, payments(chargeNaively)).catch((e: unknown) => e);
    expect((again as Error).message).toBe(failure!.message);
    // The fix passes that very run.
    await expect(simulate({ seed, faults: plan }, payments(chargeOnce))).resolves.toMatchObject({ seed });
  });

  it('is found by fast-check, which shrinks the fault plan and reports the replay call', async () => {
    const error = await fc
      .assert(fc.asyncProperty(faultPlans(fc), async (input) => void (await simulate(input, payments(chargeNaively)))), { seed: 42, numRuns: 50, includeErrorInReport: true })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/Counterexample: \[\{"seed":\d+,"faults":\{"events":\[/);
    expect(error?.message).toContain('Replay it exactly:\n  simulate({ seed: ');
    const counterexample = JSON.parse(/Counterexample: \[(.*)\]\n/.exec(error!.message)![1]!) as { seed: number; faults: FaultPlan };
    expect(counterexample.faults.events.length).toBeLessThanOrEqual(1); // shrunk: at most one fault left besides the rates
  });
});

describe('payments: a handler that dedupes by payment id in the charge transaction', () => {
  it('charges every payment exactly once over 60 seeds of random faults', async () => {
    for (let seed = 1; seed <= 60; seed++) await simulate({ seed }, payments(chargeOnce));
  });

  it('holds for every fault plan fast-check draws', async () => {
    await fc.assert(fc.asyncProperty(faultPlans(fc), async (input) => void (await simulate(input, payments(chargeOnce)))), { seed: 7, numRuns: 40, includeErrorInReport: true });
  });
});
