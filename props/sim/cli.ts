// `npm run sim -- --seed <n>` replays one run and prints its result; add `--shrink` to let
// fast-check shrink a failing run's workload to a short one (printed with the command that
// replays it, `--seed <n> --path <p>`). `npm run sim -- --runs <n>` (optionally `--from <seed>`,
// `--keep-going`) runs a swarm of seeds with a progress line and a summary, and reports a failure
// with its seed, swarm, violations, the last events and the replay command.
import fc from 'fast-check';
import { runSimulation, scenario, type SimulationResult } from './simulation.ts';
import { WORKLOAD_SETTINGS, workloadArbitrary } from './workload.ts';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);

function report(r: SimulationResult): void {
  console.log(`\nseed ${r.seed} FAILED (${r.ops} operations)`);
  console.log(`swarm: ${JSON.stringify(r.swarm)}`);
  for (const v of r.violations.slice(0, 10)) console.log(`  ${v.check}: ${v.detail}`);
  console.log(`last events:\n  ${r.tail.join('\n  ')}`);
  console.log(`replay: npm run sim -- --seed ${r.seed}    (shrink it: add --shrink)`);
}

/** Runs fast-check on the seed's workload: shrinks a failure, or replays `path` exactly. */
async function shrink(seed: number, path: string | undefined): Promise<void> {
  const { swarm } = scenario(seed);
  const details = await fc.check(
    fc.asyncProperty(workloadArbitrary(swarm), async (ops) => (await runSimulation(seed, { ops })).violations.length === 0),
    { seed, numRuns: 1, ...WORKLOAD_SETTINGS, ...(path === undefined ? {} : { path }) },
  );
  if (!details.failed || !details.counterexample) return void console.log('the run passes: nothing to shrink');
  const [ops] = details.counterexample;
  const r = await runSimulation(seed, { ops, keepTrace: true });
  console.log(`shrunk to ${ops.length} operations:\n  ${ops.map((o: unknown) => JSON.stringify(o)).join('\n  ')}`);
  report({ ...r, tail: r.tail.slice(-60) });
  console.log(`replay the shrunk run: npm run sim -- --seed ${seed} --path ${details.counterexamplePath}`);
  process.exitCode = 1;
}

const seed = flag('seed');
const pathIndex = process.argv.indexOf('--path');
if (seed !== undefined && (has('shrink') || pathIndex >= 0)) {
  await shrink(seed, pathIndex >= 0 ? process.argv[pathIndex + 1] : undefined);
} else if (seed !== undefined) {
  const r = await runSimulation(seed);
  console.log(`seed ${seed}: ${r.ops} operations, trace ${r.traceHash} ${JSON.stringify(r.stats)}`);
  if (r.violations.length > 0) {
    report(r);
    process.exitCode = 1;
  } else console.log('all checks passed');
} else {
  const runs = flag('runs') ?? 1000;
  const from = flag('from') ?? 1;
  const keepGoing = has('keep-going');
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
  } else console.log(`all checks passed on every seed (${from}..${from + runs - 1})`);
}
