// simulate() as a tool (issue 16): a seed replays a run exactly, a stuck workload and a group left
// behind are reported with the seed, bad options get typed errors, and hundreds of seeds of a
// small workload run in one test.
import { describe, expect, it } from 'vitest';
import { chargeOnce, payments } from '../../examples/testing/payments.ts';
import { expectHandledAtLeastOnce, simulate, SimulationFailedError, type Simulation } from './index.ts';

const fingerprint = (history: object): string => JSON.stringify(history, (_, v: unknown) => (v instanceof Map ? [...v].map(([k, s]) => [k, [...(s as Set<string>)]]) : v));

describe('simulate', () => {
  it('replays a run exactly from its seed: the same history, event for event; another seed differs', async () => {
    const a = await simulate({ seed: 11 }, payments(chargeOnce));
    const b = await simulate({ seed: 11 }, payments(chargeOnce));
    const c = await simulate({ seed: 12 }, payments(chargeOnce));
    expect(a.history.deliveries.length).toBeGreaterThan(0);
    expect(fingerprint(b.history)).toBe(fingerprint(a.history));
    expect(b.plan).toEqual(a.plan);
    expect(fingerprint(c.history)).not.toBe(fingerprint(a.history));
  });

  it('makes createTopic again after the restart that follows a failed fsync while it opened a log (IO_ERROR)', async () => {
    // At 5 ms the dead-letter topic's log is being created: its directory sync fails, and the
    // engine refuses the log until it is reopened.
    const plan = { events: [{ atMs: 5, kind: 'fsyncFailure' as const, ms: 50 }], network: { drop: 0, duplicate: 0, delay: 0.5, maxDelayMs: 20 }, duplicatePublish: 0 };
    const report = await simulate({ seed: 0, faults: plan }, payments(chargeOnce));
    expect(report.restarts).toBe(1);
  });

  it('reports a workload that waits forever as stuck, with its seed and replay call', async () => {
    const error = await simulate({ seed: 5, faults: 'none', maxVirtualMs: 2000 }, async function waitsForever() {
      await new Promise(() => {});
    }).then(() => undefined as never, (e: unknown) => e as SimulationFailedError);
    expect(error).toBeInstanceOf(SimulationFailedError);
    expect(error.cause).toMatchObject({ code: 'SIMULATION_STUCK' });
    expect(error.message).toContain('simulate({ seed: 5, faults: {"events":[]');
    expect(error.message).toContain('}, waitsForever)');
  });

  it('names the group left behind when its consumer was not re-created after a crash', async () => {
    const error = await simulate({ seed: 6, faults: 'none' }, async (sim: Simulation) => {
      await sim.ferry.createTopic('t');
      void sim.ferry.consumer('billing', { topics: ['t'] }).run(() => {}); // in the first process only
      await sim.sleep(10);
      await sim.crash();
      await sim.publish('t', { value: 1 });
      await sim.settle({ timeoutMs: 5000 });
    }).then(() => undefined as never, (e: unknown) => e as Error);
    expect(error.message).toMatch(/settle\(\): still behind: group billing on t\/0: (\d+ unread|not joined)/);
  });

  it('fails a run whose workload throws, keeping the thrown error as its cause', async () => {
    const thrown = new Error('my assertion');
    const error = await simulate({ seed: 7, faults: 'none' }, () => {
      throw thrown;
    }).then(() => undefined as never, (e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'SIMULATION_FAILED', cause: thrown, details: { seed: 7 } });
  });

  it.each([
    [{ seed: -1 }, /seed must be a whole number/],
    [{ seed: 1.5 }, /seed must be a whole number/],
    [{ seed: 1, faults: { crashes: 1 } }, /unknown fault rate "crashes"/],
    [{ seed: 1, faults: { crash: -1 } }, /faults.crash must be a number from 0/],
    [{ seed: 1, faults: { events: [{ atMs: 0, kind: 'meteor' }] } }, /faults.events\[0\].kind must be one of/],
    [{ seed: 1, faults: 'sometimes' }, /faults must be 'none', 'random'/],
    [{ seed: 1, engine: { fsync: 'sometimes' } }, /options.fsync must be 'always', 'interval' or 'none'/],
  ])('refuses bad options %j with INVALID_ARGUMENT', async (options, message) => {
    await expect(simulate(options as never, async () => {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  });

  it('runs 200 seeds of a small workload under random faults, each at least once handled', async () => {
    const small = async (sim: Simulation): Promise<void> => {
      await sim.ferry.createTopic('t', { ackTimeoutMs: 500 });
      sim.process((ferry) => ferry.consumer<number>('g', { topics: ['t'] }).run(() => {}));
      for (let i = 0; i < 5; i++) await sim.publish('t', { value: i });
      await sim.settle({ quietMs: 1000 });
      expectHandledAtLeastOnce(sim.history, { group: 'g' });
    };
    let faults = 0;
    for (let seed = 1; seed <= 200; seed++) faults += (await simulate({ seed, horizonMs: 5000 }, small)).history.faults.length;
    expect(faults).toBeGreaterThan(100); // the seeds did inject faults
  });
});
