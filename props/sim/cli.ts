// `npm run sim -- --seed <n>` replays one run and prints its result; add `--shrink` to let
// fast-check shrink a failing run's workload to a short one (printed with the command that
// replays it, `--seed <n> --path <p>`; `--shrink-seconds <s>` bounds it, default 120). `npm run sim -- --runs <n>` runs a swarm of seeds with a
// progress line and a summary: from seed 1, or `--from <seed>`, or `--fresh` (`--from random`): a
// random start, printed, for seeds no one has run before; `--keep-going` runs past failures. A
// failure is reported with its seed, swarm, violations, the last events and the replay command.
import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { hasFlag, integerFlag, stringFlag } from './flags.ts';
import { runSimulation, scenario, type SimulationResult } from './simulation.ts';
import { WORKLOAD_SETTINGS, workloadArbitrary } from './workload.ts';

const argv = process.argv.slice(2);

function report(r: SimulationResult): void {
  console.log(`\nseed ${r.seed} FAILED (${r.ops} operations)`);
  console.log(`swarm: ${JSON.stringify(r.swarm)}`);
  for (const v of r.violations.slice(0, 10)) console.log(`  ${v.check}: ${v.detail}`);
  console.log(`last events:\n  ${r.tail.join('\n  ')}`);
  console.log(`replay: npm run sim -- --seed ${r.seed}    (shrink it: add --shrink)`);
}

/**
 * Runs fast-check on the seed's workload: shrinks a failure, or replays `path` exactly. The run
 * is deterministic, so the operations after the one during which the first violation came are
 * cut before shrinking starts (the same prefix fails the same way); each candidate stops at its
 * first violation (it only has to fail), and the shrunk run is reported whole. Past
 * `--shrink-seconds` (default 120) the smallest failing run found so far is the answer.
 */
async function shrink(seed: number, path: string | undefined): Promise<void> {
  const { swarm, ops: drawn } = scenario(seed);
  const started = Date.now();
  const deadline = started + integerFlag(argv, 'shrink-seconds', 120) * 1000;
  const first = await runSimulation(seed, { ops: drawn, stopAtFirstViolation: true });
  const prefix = first.opsRun;
  let candidates = 0;
  let cut = false;
  /** Candidates that differ only past the prefix are the same run: answered once. */
  const seen = new Map<string, boolean>();
  const details = await fc.check(
    fc.asyncProperty(workloadArbitrary(swarm).map((ops) => ops.slice(0, prefix)), async (ops) => {
      const key = JSON.stringify(ops);
      const known = seen.get(key);
      if (known !== undefined) return known;
      // Out of time: every further candidate counts as passing, so shrinking ends where it is.
      if (candidates > 0 && Date.now() > deadline) return (cut = true);
      if (++candidates % 25 === 0) process.stdout.write(`\rshrinking: ${candidates} candidates run, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      const passes = (await runSimulation(seed, { ops, stopAtFirstViolation: true })).violations.length === 0;
      seen.set(key, passes);
      return passes;
    }),
    { seed, numRuns: 1, ...WORKLOAD_SETTINGS, ...(path === undefined ? {} : { path }) },
  );
  if (!details.failed || !details.counterexample) return void console.log('the run passes: nothing to shrink');
  const [ops] = details.counterexample;
  const r = await runSimulation(seed, { ops, keepTrace: true });
  console.log(`\nshrunk in ${((Date.now() - started) / 1000).toFixed(1)} s (${candidates} candidates run${cut ? ', stopped at --shrink-seconds: shorter may exist' : ''}) to ${ops.length} operations:\n  ${ops.map((o: unknown) => JSON.stringify(o)).join('\n  ')}`);
  report({ ...r, tail: r.tail.slice(-60) });
  console.log(`replay the shrunk run: npm run sim -- --seed ${seed} --path ${details.counterexamplePath}`);
  process.exitCode = 1;
}

/** Seeds are 31-bit: the seeded PRNG and fast-check keep 32 bits, so larger ones would repeat smaller ones. */
const SEED_LIMIT = 2 ** 31;

/** The first seed of a swarm: `--from N`, or a random one for `--fresh` / `--from random`. */
function firstSeed(runs: number): { from: number; fresh: boolean } {
  const from = stringFlag(argv, 'from');
  // Above the first million (the seeds runs start from by default), so the range is new.
  if (hasFlag(argv, 'fresh') || from === 'random') return { from: randomInt(1_000_000, SEED_LIMIT - runs), fresh: true };
  return { from: integerFlag(argv, 'from', 1), fresh: false };
}

async function swarm(): Promise<void> {
  const runs = integerFlag(argv, 'runs', 1000);
  const { from, fresh } = firstSeed(runs);
  if (from + runs > SEED_LIMIT) throw new Error(`seeds must stay below 2^31 (${SEED_LIMIT}): --from ${from} --runs ${runs} goes past it`);
  const keepGoing = hasFlag(argv, 'keep-going');
  console.log(`seeds ${from}..${from + runs - 1}${fresh ? ' (a fresh, random start)' : ''}; replay this range: npm run sim -- --runs ${runs} --from ${from}${keepGoing ? ' --keep-going' : ''}`);
  const totals: Record<string, number> = {};
  const failed: number[] = [];
  const started = Date.now();
  for (let s = from; s < from + runs; s++) {
    const r = await runSimulation(s);
    for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (r.violations.length > 0) {
      failed.push(s);
      if (keepGoing) console.log(`\nseed ${s}: ${r.violations[0]!.check}: ${r.violations[0]!.detail.slice(0, 300)}`);
      else {
        report(r);
        break;
      }
    }
    const done = s - from + 1;
    if (done % 50 === 0 || s === from + runs - 1) {
      const width = 30;
      const bar = '#'.repeat(Math.round((done / runs) * width)).padEnd(width, '.');
      process.stdout.write(`\r[${bar}] ${done}/${runs} seeds, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  console.log(`\nfaults injected and work done over the runs: ${JSON.stringify(totals)}`);
  if (failed.length > 0) {
    console.log(`failed seeds: ${failed.join(' ')}`);
    process.exitCode = 1;
  } else console.log(`all checks passed on every seed (${from}..${from + runs - 1}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const seed = integerFlag(argv, 'seed');
const path = stringFlag(argv, 'path');
if (seed !== undefined && (hasFlag(argv, 'shrink') || path !== undefined)) {
  await shrink(seed, path);
} else if (seed !== undefined) {
  const r = await runSimulation(seed);
  console.log(`seed ${seed}: ${r.ops} operations, trace ${r.traceHash} ${JSON.stringify(r.stats)}`);
  if (r.violations.length > 0) {
    report(r);
    process.exitCode = 1;
  } else console.log('all checks passed');
} else await swarm();
