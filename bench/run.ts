// Runs the benchmarks: `npm run bench` runs them all, `npm run bench -- wal-append` only the
// named ones; `--key=value` arguments go to each benchmark (e.g. `--policy=none --batch=1`).
// To add a benchmark: write bench/<name>.ts exporting a Benchmark and list it in BENCHMARKS.
// To profile one cell: node --import tsx --cpu-prof bench/run.ts wal-append --policy=none --batch=1
// The engine benchmark runs each cell in a child process; profile one directly:
//   node --import tsx --cpu-prof bench/engine-cell.ts --scenario=consume --threads=0
import type { Benchmark } from './harness.ts';
import { engine } from './engine.ts';
import { nats } from './nats.ts';
import { walAppend } from './wal-append.ts';

const BENCHMARKS: readonly Benchmark[] = [walAppend, engine, nats];

function parseArgs(args: readonly string[]): { names: string[]; flags: Map<string, string> } {
  const names: string[] = [];
  const flags = new Map<string, string>();
  for (const arg of args) {
    const flag = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (flag) flags.set(flag[1]!, flag[2] ?? 'true');
    else names.push(arg);
  }
  return { names, flags };
}

async function main(): Promise<void> {
  const { names, flags } = parseArgs(process.argv.slice(2));
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const bench of BENCHMARKS.filter((b) => names.length === 0 || names.includes(b.name))) {
    console.log(`\n== ${bench.name}: ${bench.question}\n`);
    await bench.run(flags);
  }
}

await main();
