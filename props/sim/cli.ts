// `npm run sim -- --seed <n>` replays one run and prints its events; `npm run sim -- --runs <n>`
// (optionally `--from <seed>`) runs a swarm of seeds with a progress line and a summary, and
// stops at the first failure with its seed, swarm, violations, the last events and the replay command.
import { runSimulation, type SimulationResult } from './simulation.ts';

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

function report(r: SimulationResult): void {
  console.log(`\nseed ${r.seed} FAILED`);
  console.log(`swarm: ${JSON.stringify(r.swarm)}`);
  for (const v of r.violations.slice(0, 10)) console.log(`  ${v.check}: ${v.detail}`);
  console.log(`last events:\n  ${r.tail.join('\n  ')}`);
  console.log(`replay: npm run sim -- --seed ${r.seed}`);
}

const seed = flag('seed');
if (seed !== undefined) {
  const r = await runSimulation(seed);
  console.log(`seed ${seed}: trace ${r.traceHash} ${JSON.stringify(r.stats)}`);
  if (r.violations.length > 0) {
    report(r);
    process.exitCode = 1;
  } else console.log('all checks passed');
} else {
  const runs = flag('runs') ?? 1000;
  const from = flag('from') ?? 1;
  const totals: Record<string, number> = {};
  const started = Date.now();
  for (let s = from; s < from + runs; s++) {
    const r = await runSimulation(s);
    for (const [k, v] of Object.entries(r.stats)) totals[k] = (totals[k] ?? 0) + v;
    if (r.violations.length > 0) {
      report(r);
      process.exitCode = 1;
      break;
    }
    if ((s - from + 1) % 100 === 0 || s === from + runs - 1) process.stdout.write(`\r${s - from + 1}/${runs} seeds clean, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  console.log(`\nfaults and work over the runs: ${JSON.stringify(totals)}`);
}
