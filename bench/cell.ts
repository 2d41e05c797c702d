// One benchmark cell, in a fresh process (started by bench/lib/run-cells.ts):
//   node --import tsx bench/cell.ts '{"scenario":"publish","params":{...}}'
// It runs the scenario's cell on a fresh directory and prints one line `RESULT <json>` (a
// CellOutput) on stdout; anything else goes to stderr. Run it by hand to profile one cell:
//   node --import tsx --cpu-prof bench/cell.ts '<the JSON from the run's --json rows>'
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULT_PREFIX } from './lib/cell-output.ts';
import { scenarioNamed } from './scenarios/index.ts';

const arg = process.argv[2];
if (!arg) throw new Error(`usage: node --import tsx bench/cell.ts '{"scenario":"…","params":{…}}'`);
const { scenario, params } = JSON.parse(arg) as { scenario: string; params: Record<string, unknown> };
const root = process.env['FERRY_BENCH_DIR'] ?? tmpdir();
const dir = mkdtempSync(join(root, `ferry-bench-${scenario}-`));
try {
  const output = await scenarioNamed(scenario).run(params, dir);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(output)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// A client library may keep a socket or timer open after close; the result is out, so end here.
process.exit(0);
