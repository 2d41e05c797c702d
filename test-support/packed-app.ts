// Test helper (never published): packs this repository with `npm pack` and installs the tarball
// into a throwaway app outside the repository, offline, the way a user's project would get it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (this file sits one level below it). */
export const REPO = resolve(import.meta.dirname, '..');

/** Runs npm with `args` in `cwd`; rejects with npm's output if it fails. */
export async function npm(cwd: string, args: readonly string[]): Promise<string> {
  // Under `npm test`, npm exports its config as npm_config_*: keep it (the cache CI installed
  // into, a registry, a CA file), except the enclosing project's root, which would point the
  // app's install at the repository.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.toLowerCase() !== 'npm_config_local_prefix'));
  const { stdout } = await run('npm', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** A packed tarball and the paths it holds. */
export interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
  readonly size: number;
}

/** `npm pack` of the repository into `dest` (its prepack script builds dist/ first). */
export async function pack(dest: string): Promise<Packed> {
  const out = await npm(REPO, ['pack', '--json', '--pack-destination', dest]);
  // Lifecycle scripts print to stdout before the JSON report.
  const report = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; size: number; files: { path: string }[] }[];
  const [entry] = report;
  if (!entry) throw new Error(`npm pack printed no report: ${out}`);
  return { tarball: join(dest, entry.filename), files: entry.files.map((f) => f.path).sort(), size: entry.size };
}

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * The lockfile entries of the package's runtime dependencies and theirs, from the repository's
 * lockfile: the app installs exactly the versions the repository was tested with, and npm needs no
 * registry metadata for them (their tarballs are in npm's cache since `npm ci`), so it works offline.
 */
async function dependencyLock(also: readonly string[]): Promise<Record<string, LockEntry>> {
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const root = lock.packages[''];
  const out: Record<string, LockEntry> = {};
  const visit = (name: string, from: string): void => {
    // Node's lookup: the nearest node_modules/<name> at or above `from`.
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      const entry = lock.packages[path];
      if (entry) {
        if (out[path]) return;
        const { dev: _dev, devOptional: _devOptional, ...kept } = entry;
        out[path] = kept;
        for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) visit(dep, path);
        return;
      }
      if (dir === '') return; // an optional dependency for another platform, never locked here
    }
  };
  for (const dep of [...Object.keys(root?.dependencies ?? {}), ...also]) visit(dep, '');
  return out;
}

/**
 * A temporary app in the OS's temp directory with `tarball` installed as its dependency `ferry`,
 * and `also` (packages of the repository's lockfile, such as fast-check for `ferry/testing`) as
 * its own dependencies, at the repository's versions.
 */
export async function installedApp(tarball: string, also: readonly string[] = []): Promise<{ dir: string; installLog: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-app-'));
  const locked = await dependencyLock(also);
  const dependencies = Object.fromEntries(also.map((name) => [name, String(locked[`node_modules/${name}`]?.version)]));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'ferry-smoke-app', private: true, type: 'module', dependencies }, null, 2));
  const packages = { '': { name: 'ferry-smoke-app', dependencies }, ...locked };
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ name: 'ferry-smoke-app', lockfileVersion: 3, requires: true, packages }, null, 2));
  const installLog = await npm(dir, ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball]);
  return { dir, installLog, remove: () => rm(dir, { recursive: true, force: true }) };
}
