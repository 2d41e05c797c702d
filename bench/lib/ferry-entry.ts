// Which Ferry the cells measure. Users run the package as built (tsc's JavaScript in dist/), not
// the TypeScript sources through tsx, whose transform adds work of its own (a name helper per
// function made): the runner builds the package once into .cache/bench-dist and every cell loads
// it from FERRY_BENCH_ENTRY. Without it (the harness's own tests, a cell run by hand), the sources.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type FerryModule = typeof import('../../index.ts');

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** Where the runner builds the package for its cells (git-ignored). */
const BUILD_DIR = join(ROOT, '.cache', 'bench-dist');

/** The Ferry module a cell measures: the built package when the runner made one, else the sources. */
export async function loadFerry(): Promise<FerryModule> {
  const entry = process.env['FERRY_BENCH_ENTRY'];
  return (entry ? await import(entry) : await import('../../index.ts')) as FerryModule;
}

/**
 * Builds the package for the cells (as `npm run build` does, into .cache/bench-dist) and returns
 * the environment that makes them load it, plus what the report says was measured. With
 * FERRY_BENCH_FROM_SOURCE=1, or if the build fails, the cells run the sources (and the report says so).
 */
export function ferryEntryEnv(): { readonly env: Record<string, string>; readonly measured: string } {
  if (process.env['FERRY_BENCH_FROM_SOURCE'] === '1') return { env: {}, measured: 'the TypeScript sources through tsx (FERRY_BENCH_FROM_SOURCE=1)' };
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD_DIR], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  } catch (error) {
    return { env: {}, measured: `the TypeScript sources through tsx (the build failed: ${(error as Error).message.split('\n')[0]})` };
  }
  return { env: { FERRY_BENCH_ENTRY: pathToFileURL(join(BUILD_DIR, 'index.js')).href }, measured: 'the package as built (tsc output, as installed)' };
}
