// The real disk seam: positioned writes and the directory lock, across threads and processes.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteAheadLog } from '../log.ts';
import { LockedError } from '../errors.ts';
import { nodeFileSystem } from './node-file-system.ts';
import { realClock } from './real-clock.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-nodefs-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const open = (dir: string) => WriteAheadLog.open({ dir, fs: nodeFileSystem, clock: realClock });

describe('node file system', () => {
  it('writes at the given position, never appending (no O_APPEND)', () => {
    const dir = tempDir();
    const h = nodeFileSystem.open(join(dir, 'f'), 'create');
    h.writev([Buffer.from('abcdef')], 0);
    h.writev([Buffer.from('XY'), Buffer.from('Z')], 1);
    h.close();
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('aXYZef');
  });

  it('locks a data directory against a second open in the same process', async () => {
    const dir = tempDir();
    const log = await open(dir);
    const error = await open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockedError);
    expect(error).toMatchObject({ code: 'LOCKED' });
    expect((error as Error).message).toMatch(/this process/);
    await log.close();
    const again = await open(dir); // released on close
    await again.close();
  });

  it('locks a data directory against another live process', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hold.mjs'), `process.stdin.resume();`);
    const child = spawn(process.execPath, [join(dir, 'hold.mjs')], { stdio: ['pipe', 'ignore', 'inherit'] });
    try {
      const start = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const ticks = start.slice(start.lastIndexOf(')') + 2).split(' ')[19];
      writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: child.pid, start: ticks }));
      await expect(open(dir)).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringMatching(new RegExp(`process ${child.pid}`)) });
    } finally {
      child.kill();
    }
  });

  it('takes over a stale lock left by a process that died', async () => {
    const dir = tempDir();
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).trim());
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: deadPid, start: '1' }));
    const log = await open(dir);
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await log.close();
  });

  it('takes over a lock whose pid was reused by another process', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.pid, start: 'not-my-start-time' }));
    const log = await open(dir);
    await log.close();
  });

  it('round-trips a log on the real disk across a reopen', async () => {
    const dir = tempDir();
    const log = await WriteAheadLog.open({ dir, fs: nodeFileSystem, clock: realClock, segmentBytes: 300, fsync: 'always' });
    for (let i = 0; i < 20; i++) await log.append({ recordCount: 1, payload: Buffer.from(`message ${i}`.padEnd(40)), timestamp: i });
    await log.close();
    const reopened = await WriteAheadLog.open({ dir, fs: nodeFileSystem, clock: realClock, segmentBytes: 300 });
    expect(reopened.read(0, { maxBytes: 1 << 20 }).map((b) => Buffer.from(b.payload).toString().trim())).toEqual([...Array(20).keys()].map((i) => `message ${i}`));
    await reopened.close();
  });
});
