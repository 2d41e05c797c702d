// The published package as a user gets it: `npm pack`, installed offline into an app outside the
// repository, imported with plain `node` (no tsx) on worker threads and without, and type-checked
// under each moduleResolution a TypeScript user may have (issue 10); its `ferry/testing` entry
// finds a double charge with a replayable seed and passes the fix (issue 16), and type-checks in a
// project without fast-check (`faultPlans` is in `ferry/testing/fast-check`).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, installedApp, pack, type Packed } from './packed-app.ts';

const run = promisify(execFile);

/** Plain node: the runner's own binary, without the loaders (tsx) or options the test runner uses. */
function plainNode(args: readonly string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const { NODE_OPTIONS: _options, ...env } = process.env;
  return run(process.execPath, args, { cwd, env, timeout: 120_000 }); // a type-check takes 30 s on a loaded 2-core machine
}

const SMOKE = `
import { Ferry } from 'ferry';
const [threads, dir] = [Number(process.argv[2]), process.argv[3]];
const ferry = await Ferry.open({ dir, threads });
await ferry.createTopic('orders', { partitions: 2 });
const results = await ferry.producer({ id: 'smoke' }).publishMany('orders', Array.from({ length: 20 }, (_, n) => ({ value: { n }, key: 'k' + (n % 3) })));
const consumer = ferry.consumer('billing', { topics: ['orders'] });
const seen = [];
for await (const d of consumer) {
  seen.push(d.value.n);
  await d.ack();
  if (seen.length === results.length) break;
}
await ferry.close();
console.log(JSON.stringify({ node: process.version, threads, seen: seen.sort((a, b) => a - b) }));
`;

const TYPED = `
import { Ferry, FerryError, type Delivery, type PublishResult } from 'ferry';
const ferry: Ferry = await Ferry.open({ dir: 'data', threads: 2 });
const result: PublishResult = await ferry.producer({ id: 'p' }).publish('orders', { value: { id: 1 }, key: 'k' });
const offset: number = result.offset;
const consumer = ferry.consumer<{ id: number }>('billing', { topics: ['orders'], ordering: 'key' });
for await (const d of consumer) {
  const delivery: Delivery<{ id: number }> = d;
  const id: number = delivery.value.id;
  await d.ack();
  console.log(offset, id);
}
const error: unknown = undefined;
if (error instanceof FerryError) console.log(error.code, error.retriable);
// @ts-expect-error: threads is a number or 'auto' (the types are real, not any)
await Ferry.open({ dir: 'data', threads: 'many' });
`;

/** The double-charge example of docs/TESTING.md, as a user of the installed package writes it. */
const DOUBLE_CHARGE = `
import fc from 'fast-check';
import { expectEffectsExactlyOnce, simulate } from 'ferry/testing';
import { faultPlans } from 'ferry/testing/fast-check';
const payments = (dedupe) => async function paymentsWorkload(sim) {
  const db = sim.store('billing');
  await sim.ferry.createTopic('payments', { partitions: 2, ackTimeoutMs: 1000 });
  sim.process((ferry) => ferry.consumer('billing', { topics: ['payments'] }).run(async (d) => {
    await db.transaction((tx) => {
      if (dedupe && tx.has('charged:' + d.value.id)) return;
      tx.set('charged:' + d.value.id, 1);
      tx.effect('charge', d.value.id);
    });
  }, { concurrency: 4 }));
  for (let i = 0; i < 20; i++) await sim.publish('payments', { value: { id: 'pay-' + i }, key: 'acct-' + (i % 4) });
  await sim.settle();
  expectEffectsExactlyOnce(sim.history, { effect: 'charge', keys: Array.from({ length: 20 }, (_, i) => 'pay-' + i) });
};
let failure;
for (let seed = 1; seed <= 30 && !failure; seed++) await simulate({ seed }, payments(false)).catch((e) => (failure = e));
const again = await simulate({ seed: failure.details.seed, faults: failure.details.plan }, payments(false)).catch((e) => e);
for (let seed = 1; seed <= 10; seed++) await simulate({ seed }, payments(true));
await fc.assert(fc.asyncProperty(faultPlans(fc), (input) => simulate(input, payments(true)).then(() => {})), { seed: 1, numRuns: 10 });
const found = await fc.assert(fc.asyncProperty(faultPlans(fc), (input) => simulate(input, payments(false)).then(() => {})), { seed: 1, numRuns: 50, includeErrorInReport: true }).catch((e) => e.message);
console.log(JSON.stringify({ code: failure.code, doubled: /charge "pay-\\d+" happened \\d+ times/.test(failure.message), replay: failure.message.includes('Replay it exactly:\\n  simulate({ seed: ' + failure.details.seed + ', faults: '), replayedSame: again.message === failure.message, fastCheck: /Counterexample[\\s\\S]*Replay it exactly/.test(found) }));
`;

const TYPED_TESTING = `
import fc from 'fast-check';
import type { Ferry } from 'ferry';
import { expectHandledAtLeastOnce, simulate, type FaultPlan, type Simulation, type SimulationReport } from 'ferry/testing';
import { faultPlans, type SimulationInput } from 'ferry/testing/fast-check';
const workload = async (sim: Simulation): Promise<void> => {
  const ferry: Ferry = sim.ferry;
  await ferry.createTopic('t');
  sim.process((f: Ferry) => f.consumer<{ id: string }>('g', { topics: ['t'] }).run((d) => void d.value.id));
  await sim.publish('t', { value: { id: 'a' } });
  await sim.settle();
  expectHandledAtLeastOnce(sim.history, { group: 'g' });
};
const report: SimulationReport = await simulate({ seed: 1, faults: { crash: 0.5, drop: 0.01 } }, workload);
const plan: FaultPlan = report.plan;
await fc.assert(fc.asyncProperty(faultPlans(fc, { kinds: ['crash', 'pause'] }), async (input: SimulationInput) => void (await simulate(input, workload))));
console.log(plan.events.length);
// @ts-expect-error: a fault kind simulate does not know
await simulate({ seed: 1, faults: { events: [{ atMs: 0, kind: 'meteor' }], network: plan.network, duplicatePublish: 0 } }, workload);
`;

/** A user of \`ferry/testing\` alone, in a project without fast-check (its types must not need it). */
const TYPED_TESTING_ALONE = `
import { expectEffectsExactlyOnce, simulate, type FaultPlanOptions, type Simulation, type SimulationInput, type SimulationReport } from 'ferry/testing';
const workload = async (sim: Simulation): Promise<void> => {
  const db = sim.store<number>('db');
  await sim.ferry.createTopic('t');
  sim.process((f) => f.consumer<{ id: string }>('g', { topics: ['t'] }).run(async (d) => {
    await db.transaction((tx) => tx.effect('seen', d.value.id));
  }));
  await sim.publish('t', { value: { id: 'a' } });
  await sim.settle();
  expectEffectsExactlyOnce(sim.history, { effect: 'seen', keys: ['a'] });
};
const input: SimulationInput = { seed: 1, faults: { events: [], network: { drop: 0, duplicate: 0, delay: 0, maxDelayMs: 0 }, duplicatePublish: 0 } };
const options: FaultPlanOptions = { kinds: ['crash'] };
const report: SimulationReport = await simulate(input, workload);
console.log(JSON.stringify({ events: report.plan.events.length, kinds: options.kinds }));
`;

// The package's own .d.ts files are checked in full once (skipLibCheck: false costs ~10 s, most of
// it in @types/node); the other modes check resolution and the user's file.
const RESOLUTIONS = {
  node16: { module: 'node16', moduleResolution: 'node16', skipLibCheck: true },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false },
  bundler: { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
} as const;

/**
 * Top-level statements of a built module that act on something outside it when it is imported
 * (a registry, another module's class). Declarations are not; nor are the two shapes TypeScript
 * and our code use to finish a module's own classes: `_a = Class` and
 * `Object.defineProperty(Class.prototype, …)`. (An initializer with a call, `const x = f()`, is not
 * looked at: keep such effects in plain statements.)
 */
function topLevelEffects(source: string): string[] {
  const file = ts.createSourceFile('m.js', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const locals = new Set<string>();
  for (const s of file.statements) {
    if ((ts.isClassDeclaration(s) || ts.isFunctionDeclaration(s)) && s.name) locals.add(s.name.text);
    if (ts.isVariableStatement(s)) for (const d of s.declarationList.declarations) if (ts.isIdentifier(d.name)) locals.add(d.name.text);
  }
  const local = (e: ts.Expression): boolean =>
    (ts.isIdentifier(e) && locals.has(e.text)) || (ts.isPropertyAccessExpression(e) && e.name.text === 'prototype' && local(e.expression));
  const ownFinish = (s: ts.Statement): boolean => {
    if (!ts.isExpressionStatement(s)) return false;
    const e = s.expression;
    if (ts.isBinaryExpression(e)) return e.operatorToken.kind === ts.SyntaxKind.EqualsToken && local(e.left) && local(e.right);
    return ts.isCallExpression(e) && e.expression.getText(file) === 'Object.defineProperty' && e.arguments[0] !== undefined && local(e.arguments[0]);
  };
  const declaration = (s: ts.Statement): boolean =>
    ts.isImportDeclaration(s) || ts.isExportDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s) || ts.isVariableStatement(s) || ts.isEmptyStatement(s);
  return file.statements.filter((s) => !declaration(s) && !ownFinish(s)).map((s) => s.getText(file));
}

describe('the packed package', () => {
  let scratch: string;
  let packed: Packed;
  let app: Awaited<ReturnType<typeof installedApp>>;

  let manifestBeforePack: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ferry-pack-'));
    manifestBeforePack = await readFile(join(REPO, 'package.json'), 'utf8');
    packed = await pack(scratch);
    app = await installedApp(packed.tarball, ['fast-check']);
    await writeFile(join(app.dir, 'smoke.mjs'), SMOKE);
    await writeFile(join(app.dir, 'typed.ts'), TYPED);
    await writeFile(join(app.dir, 'typed-testing.ts'), TYPED_TESTING);
    await writeFile(join(app.dir, 'double-charge.mjs'), DOUBLE_CHARGE);
  }, 120_000);

  afterAll(async () => {
    await app?.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  it('holds the built library, its types, README, LICENSE and the docs the README links, and no test, bench, demo or helper', () => {
    const outside = packed.files.filter((f) => !f.startsWith('dist/') && !f.startsWith('docs/') && !['README.md', 'LICENSE', 'package.json'].includes(f));
    expect(outside).toEqual([]);
    // Every docs/ link of the README resolves inside the package (a new user found them missing).
    for (const [, link] of readFileSync(join(REPO, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+)/g)) expect(packed.files).toContain(link);
    expect(packed.files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/workers/shard-worker.js', 'dist/props/testing/index.js', 'dist/props/testing/index.d.ts', 'dist/props/testing/fast-check.js', 'dist/props/testing/fast-check.d.ts']));
    // Of props/, only the `ferry/testing` entry and the simulator parts it imports.
    const unwanted = packed.files.filter((f) => /\.test\.|test-support|harness|demo|props\/(?!testing\/|sim\/network\.|sim\/disk-faults\.)|bench\/|\.map$|\.ts$/.test(f.replace(/\.d\.ts$/, '.d')));
    expect(unwanted).toEqual([]);
    for (const f of packed.files.filter((f) => f.endsWith('.js'))) expect(packed.files).toContain(f.replace(/\.js$/, '.d.ts'));
  });

  it('installs from the tarball without building (no compiler in the app, no prepare run)', async () => {
    expect(app.installLog).not.toMatch(/prepare|tsc/);
    await expect(readdir(join(app.dir, 'node_modules', 'ferry', 'dist', 'workers'))).resolves.toContain('shard-worker.js');
  });

  it('ships a package.json with no scripts, so nothing runs or is flagged at install (new-user trial: npm warned of its prepare), and leaves the repository\'s own as it was', async () => {
    const installed = JSON.parse(await readFile(join(app.dir, 'node_modules', 'ferry', 'package.json'), 'utf8')) as { scripts?: unknown; exports?: unknown };
    expect(installed.scripts).toBeUndefined();
    expect(installed.exports).toEqual(JSON.parse(manifestBeforePack).exports); // the rest as written
    expect(await readFile(join(REPO, 'package.json'), 'utf8')).toBe(manifestBeforePack);
    await expect(readdir(join(REPO, '.ci'))).resolves.not.toContain('package.json.packing');
  });

  it.each([0, 2])('runs with plain node, threads: %i', async (threads) => {
    const dir = join(app.dir, `data-${threads}`);
    const { stdout } = await plainNode(['smoke.mjs', String(threads), dir], app.dir);
    expect(JSON.parse(stdout)).toEqual({ node: process.version, threads, seen: Array.from({ length: 20 }, (_, n) => n) });
  });

  it('imports ferry/testing with plain node: finds the double charge with a replayable seed, passes the fix, and works in fast-check', async () => {
    const { stdout } = await plainNode(['double-charge.mjs'], app.dir);
    expect(JSON.parse(stdout)).toEqual({ code: 'SIMULATION_FAILED', doubled: true, replay: true, replayedSame: true, fastCheck: true });
  });

  it.each(Object.keys(RESOLUTIONS))('type-checks against the installed types under moduleResolution %s', async (name) => {
    const compilerOptions = {
      ...RESOLUTIONS[name as keyof typeof RESOLUTIONS],
      target: 'es2022',
      lib: ['es2022'],
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(REPO, 'node_modules', '@types')],
    };
    await writeFile(join(app.dir, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files: ['typed.ts', 'typed-testing.ts'] }));
    const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
    const result = await plainNode([tsc, '-p', `tsconfig.${name}.json`, '--listFiles'], app.dir).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(result).not.toHaveProperty('failed');
    // The types came from the installed package through its `exports`, not from the repository,
    // and the files they import resolved too.
    for (const f of ['index.d.ts', 'core/ferry.d.ts', 'core/producer.d.ts', 'core/consumer.d.ts', 'wal/ferry-error.d.ts', 'props/testing/index.d.ts', 'props/testing/simulate.d.ts', 'props/testing/fast-check.d.ts']) {
      expect(result.stdout).toContain(join(app.dir, 'node_modules', 'ferry', 'dist', f));
    }
  });

  it('type-checks and runs a user of ferry/testing in a project without fast-check, skipLibCheck off (new-user trial: its .d.ts imported fast-check)', async () => {
    const bare = await installedApp(packed.tarball);
    try {
      await expect(readdir(join(bare.dir, 'node_modules'))).resolves.not.toContain('fast-check');
      await writeFile(join(bare.dir, 'testing-alone.ts'), TYPED_TESTING_ALONE);
      const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false, target: 'es2022', lib: ['es2022'], strict: true, noEmit: true, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] };
      await writeFile(join(bare.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['testing-alone.ts'] }));
      const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
      const result = await plainNode([tsc, '-p', 'tsconfig.json', '--listFiles'], bare.dir).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
      expect(result.stdout).not.toMatch(/error TS/);
      expect(result).not.toHaveProperty('failed');
      expect(result.stdout).toContain(join(bare.dir, 'node_modules', 'ferry', 'dist', 'props', 'testing', 'index.d.ts'));
      // And it runs: ferry/testing imports nothing of fast-check at run time either.
      await writeFile(join(bare.dir, 'testing-alone.mjs'), ts.transpileModule(TYPED_TESTING_ALONE, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
      const { stdout } = await plainNode(['testing-alone.mjs'], bare.dir);
      expect(JSON.parse(stdout)).toEqual({ events: 0, kinds: ['crash'] });
    } finally {
      await bare.remove();
    }
  }, 120_000);

  it('states in package.json sideEffects exactly the modules that act when imported', async () => {
    const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { sideEffects: string[] | boolean };
    const acting: string[] = [];
    for (const f of packed.files.filter((f) => f.endsWith('.js'))) {
      const source = await readFile(join(app.dir, 'node_modules', 'ferry', f), 'utf8');
      if (topLevelEffects(source).length > 0) acting.push(`./${f}`);
    }
    expect(manifest.sideEffects === false ? [] : [...(manifest.sideEffects as string[])].sort()).toEqual(acting.sort());
  });
});
