// `ferry tail` (issue 12 §CLI): prints a topic's messages from its files, without a group or the
// lock, while the owning process keeps writing; --follow keeps printing until SIGTERM / Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
import { runCli } from './main.ts';

const REPO = resolve(import.meta.dirname, '..');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function engine(): Promise<{ dir: string; ferry: Ferry }> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tail-'));
  dirs.push(dir);
  const ferry = await Ferry.open({ dir });
  await ferry.createTopic('orders', { partitions: 2 });
  return { dir, ferry };
}

describe('ferry tail', () => {
  it('prints what is stored, from --from, while another engine holds the directory, and exits', async () => {
    const { dir, ferry } = await engine();
    await ferry.producer().publishMany('orders', [1, 2, 3, 4].map((n) => ({ value: { n }, key: `k${n}` })));
    let out = '';
    const code = await runCli(['tail', dir, 'orders', '--json'], { out: (t) => (out += `${t}\n`), err: (t) => (out += `${t}\n`) });
    expect(code).toBe(0);
    const seen = out.trim().split('\n').map((line) => JSON.parse(line) as { value: { n: number }; partition: number; offset: number });
    expect(seen.map((m) => m.value.n).sort()).toEqual([1, 2, 3, 4]);
    out = '';
    expect(await runCli(['tail', dir, 'orders', '--partition', '0', '--from', '1', '--json'], { out: (t) => (out += `${t}\n`), err: (t) => (out += `${t}\n`) })).toBe(0);
    const zero = seen.filter((m) => m.partition === 0 && m.offset >= 1).map((m) => m.value.n);
    expect(out.trim() === '' ? [] : out.trim().split('\n').map((line) => (JSON.parse(line) as { value: { n: number } }).value.n)).toEqual(zero);
    await ferry.close();
  });

  it('--follow prints new messages as they are written, until SIGTERM, then exits 0', async () => {
    const { dir, ferry } = await engine();
    const producer = ferry.producer();
    await producer.publish('orders', { value: 'before', key: 'a' }); // not printed: --follow starts at the end
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/ferry.ts'), 'tail', dir, 'orders', '--follow', '--json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const lines = () => out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { value: string }).value);
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      // The child must have placed itself at the end before it can print: publish until one shows.
      const warmup: string[] = [];
      await until(() => {
        const value = `warmup${warmup.length}`;
        warmup.push(value);
        void producer.publish('orders', { value, key: value });
        return lines().length > 0;
      });
      const finals = ['f0', 'f1', 'f2', 'f3', 'f4'];
      await producer.publishMany('orders', finals.map((value) => ({ value, key: value })));
      await until(() => finals.every((f) => lines().includes(f)));
      expect(lines()).toEqual(expect.arrayContaining(finals));
      expect(lines()).not.toContain('before');
      for (const value of lines()) expect([...warmup, ...finals]).toContain(value);
      expect(new Set(lines()).size).toBe(lines().length); // each once
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toBe('');
    await ferry.close();
  }, 60_000);
});
