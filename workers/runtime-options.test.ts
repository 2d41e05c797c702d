// Options of the threaded runtime from the public entry: a runtime that refuses its options leaves
// the data directory as it found it, and the worker heap cap is reachable by users.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../wal/index.ts';
import { Ferry, workerRuntimeFactory } from '../index.ts';

describe('threaded runtime options', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-options-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('releases the data directory when the worker runtime refuses the options', async () => {
    const dir = tempDir();
    // Worker threads cannot use a manual clock: refused, and the directory is left unlocked.
    await expect(Ferry.open({ dir, threads: 2, clock: new ManualClock(0) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ferry = await Ferry.open({ dir });
    await ferry.close();
  });

  it('takes a worker heap cap and restart budget from the public entry and checks them before opening', async () => {
    expect(() => workerRuntimeFactory({ maxWorkerHeapMb: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => workerRuntimeFactory({ restart: { maxRestarts: -1, windowMs: 1000, backoffMs: 10 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => workerRuntimeFactory({ restart: { maxRestarts: 3, windowMs: Number.NaN, backoffMs: 10 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const dir = tempDir();
    const ferry = await Ferry.open({ dir, threads: 1 }, workerRuntimeFactory({ maxWorkerHeapMb: 128 }));
    await ferry.createTopic('t');
    expect((await ferry.producer().publish('t', { value: 1 })).offset).toBeGreaterThanOrEqual(0);
    await ferry.close();
  });
});
