// ferry/testing's own options, refused as the engine's are (review after the new-user trial): a
// misspelt option is named instead of ignored (`fault: 'none'` ran random faults), and each
// refusal shows the value it got.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultPlans } from './fast-check.ts';
import { expectEffectsExactlyOnce, expectHandledAtLeastOnce, expectNoDeadLetterWithoutFailure, simulate, type Simulation } from './index.ts';

const bad = (v: unknown) => v as never;

describe('ferry/testing options', () => {
  it('refuses unknown names and bad values of simulate, settle, the invariant checks and faultPlans, naming them', async () => {
    const idle = async (sim: Simulation) => void (await sim.settle());
    const refusals: [string, () => unknown, string][] = [
      ['a misspelt simulate option', () => simulate(bad({ seed: 1, fault: 'none' }), idle), 'simulate options: unknown option "fault"'],
      ['maxVirtualMs', () => simulate(bad({ seed: 1, maxVirtualMs: '60000' }), idle), "simulate options.maxVirtualMs must be a number of ms above 0 (got '60000')"],
      ['the workload', () => simulate({ seed: 1 }, bad('payments')), "simulate takes the workload, async (sim) => { … }, second (got 'payments')"],
      ['a settle option', () => simulate({ seed: 1, faults: 'none' }, (sim) => sim.settle(bad({ quiet: 10 }))), 'settle options: unknown option "quiet"'],
      ['a settle value', () => simulate({ seed: 1, faults: 'none' }, (sim) => sim.settle(bad({ timeoutMs: '10' }))), "settle options.timeoutMs must be a number of virtual ms from 0 (got '10')"],
      ['a process start', () => simulate({ seed: 1, faults: 'none' }, (sim) => sim.process(bad('start'))), "process() and onRestart() take a function (ferry) => … (got 'start')"],
      ['a group check', () => simulate({ seed: 1, faults: 'none' }, (sim) => expectHandledAtLeastOnce(sim.history, bad({ group: 'g', topic: 't' }))), 'the check: unknown option "topic"'],
      ['an effect check', () => simulate({ seed: 1, faults: 'none' }, (sim) => expectEffectsExactlyOnce(sim.history, bad({ effects: 'charge' }))), "expectEffectsExactlyOnce needs { effect, keys? } (got { effects: 'charge' })"],
      ['a dead-letter check', () => simulate({ seed: 1, faults: 'none' }, (sim) => expectNoDeadLetterWithoutFailure(sim.history, bad({ groups: ['g'] }))), 'expectNoDeadLetterWithoutFailure check: unknown option "groups"'],
      ['faultPlans options', () => faultPlans(fc, bad({ kind: ['crash'] })), 'faultPlans options: unknown option "kind"'],
      ['faultPlans kinds', () => faultPlans(fc, bad({ kinds: ['meteor'] })), "faultPlans options.kinds must list some of crash, powerLoss, pause, clockJump, fsyncFailure, diskFull (got [ 'meteor' ])"],
    ];
    for (const [what, call, message] of refusals) {
      const refusal = await Promise.resolve().then(call).then(() => undefined, (e: unknown) => e);
      // A refusal inside the workload fails the run, with the refusal as its cause.
      const error = (refusal as { cause?: unknown })?.cause ?? refusal;
      expect(error, what).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) });
    }
  });
});
