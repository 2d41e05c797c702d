// Output helpers shared by the benchmarks: a plain-text table for the terminal and a JSON file
// (with a description of the machine, since numbers mean little without it) for later comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/results, next to this file; its *.json are gitignored. */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Where and on what a benchmark ran. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly totalMemBytes: number;
  /** Directory the benchmark wrote to (its disk is part of what is measured). */
  readonly diskPath: string;
  readonly date: string;
}

/** Describes this machine, with `diskPath` the directory the benchmark writes to. */
export function machineInfo(diskPath: string): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemBytes: os.totalmem(),
    diskPath,
    date: new Date().toISOString(),
  };
}

/** Writes `data` as bench/results/<name>.json (creating the directory) and returns the path. */
export function writeResults(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}

/** A rate with a k/M/G suffix and three significant digits, e.g. `14.2k`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) if (perSecond >= scale) return `${(perSecond / scale).toPrecision(3)}${suffix}`;
  return perSecond.toPrecision(3);
}

/** A number with `digits` decimals, or `-` when it is not finite. */
export function formatFixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Lays rows out under headers: first column left-aligned, the others right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
