// The deterministic simulator in the test suite: a bounded swarm of seeds must run clean (the
// real engine on the fault disk, over the faulty network), and a seed must replay exactly (same
// trace hash). Longer swarms: `npm run sim -- --runs 10000`; shrink a failure: `--seed N --shrink`.
import { describe, expect, it } from 'vitest';
import { runSimulation } from './sim/simulation.ts';

describe('simulator', () => {
  it('runs a swarm of seeds without a violated check', async () => {
    const runs = Number(process.env.SIM_RUNS ?? 300);
    const totals: Record<string, number> = {};
    for (let seed = 1; seed <= runs; seed++) {
      const r = await runSimulation(seed);
      expect(r.violations, `seed ${seed} (replay: npm run sim -- --seed ${seed}; shrink: add --shrink)`).toEqual([]);
      for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    }
    // The swarm must actually have hurt: a simulator that injects nothing proves nothing.
    for (const fault of ['crashes', 'powerLosses', 'failedSyncs', 'dropped', 'duplicated', 'timedOut', 'bitFlips', 'staleSettles', 'deadLetters', 'earlyRepeats']) expect(totals[fault], fault).toBeGreaterThan(0);
  }, 240_000); // 300 seeds: about 15 s on an idle 2-core machine, near a minute under a load of 12

  // Fresh seeds that once failed because a check was unsound, replayed: seed 1356550928 (issue 17's
  // 20,000-seed run) redrove a letter the operators' group had not read yet, and 'redrive once'
  // counted its copy against no letter: the drain now reads letters until none comes for a while.
  // Seed 856070170 (issue 12's admin workload): a duplicate of a reset landed after a later reset;
  // admin calls now wait until no copy of the last one can land. Seed 1552383454: a duplicate of a
  // reset to an offset resolved it again past messages that landed meanwhile; the model allows it.
  // Seed 923: a deleteGroup's copy answered UNKNOWN_GROUP first though the original had deleted it.
  it('replays the fresh seeds that once failed on a check, clean', async () => {
    for (const seed of [1356550928, 856070170, 1552383454, 923]) expect((await runSimulation(seed)).violations, `seed ${seed}`).toEqual([]);
  });

  // Fresh seeds of the 18,000-seed sweep that failed in transactions (issue 13), replayed: a
  // decision forgotten after a recovery listing that missed a partition (197477614, 197485826), a
  // repeated decision answered before the apply was durable (197481806), a check-back that
  // answered 'commit' for a transaction the engine had reported failed (197477595), and an abort
  // counted though it resolved in the process a power loss had killed (found by 425756620; since
  // the admin workload changed the runs, seed 1876 is the one that fails without that fix: checked
  // by reverting it, 1 of seeds 1..4000).
  it('replays the fresh seeds that once failed in transactions, clean', async () => {
    for (const seed of [197477614, 197485826, 197481806, 197477595, 1876]) expect((await runSimulation(seed)).violations, `seed ${seed}`).toEqual([]);
  });

  // Fresh seed 239153770 (issue 12's admin workload) found a real bug: a topic created again after
  // a deleteTopic whose directory sync failed could get the old topic's files back after a power
  // loss (core/delete-topic.test.ts has the regression test). Fresh seed 2056377111: a createTopic
  // whose catalog sync failed, asked again, succeeded on the record a power loss then took, with
  // a message confirmed meanwhile (core/catalog.ts now waits for the same sync).
  it('replays the fresh seeds that found bugs in topic creation and deletion, clean', async () => {
    for (const seed of [239153770, 2056377111]) expect((await runSimulation(seed)).violations, `seed ${seed}`).toEqual([]);
  });

  it('is deterministic: the same seed gives the same trace', async () => {
    for (const seed of [7, 42, 1234]) {
      const [a, b] = [await runSimulation(seed), await runSimulation(seed)];
      expect(a.traceHash).toBe(b.traceHash);
      expect(a.stats).toEqual(b.stats);
    }
    expect((await runSimulation(7)).traceHash).not.toBe((await runSimulation(8)).traceHash);
  });
});
