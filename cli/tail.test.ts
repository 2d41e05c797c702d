// `ferry tail` (issue 12 §CLI): prints a topic's messages from its files, without a group or the
// lock, while the owning process keeps writing; --follow keeps printing until SIGTERM / Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  it('ends with exit 4 and the file and byte at damage that data follows, instead of a silent end (trial of the packed package)', async () => {
    const { dir, ferry } = await engine();
    const p = ferry.producer();
    for (let n = 0; n < 6; n++) await p.publish('orders', { value: { n }, key: 'same' }); // a batch each, one partition
    await ferry.close();
    const partition = readdirSync(join(dir, 'topics/orders')).find((d) => readdirSync(join(dir, 'topics/orders', d)).length > 0 && readFileSync(join(dir, 'topics/orders', d, readdirSync(join(dir, 'topics/orders', d))[0]!)).length > 0)!;
    const file = join(dir, 'topics/orders', partition, readdirSync(join(dir, 'topics/orders', partition)).find((f) => f.endsWith('.log'))!);
    const bytes = readFileSync(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(file, bytes);
    let out = '';
    let err = '';
    const code = await runCli(['tail', dir, 'orders', '--json'], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
    expect(code).toBe(4);
    expect(err).toMatch(/CORRUPT_SEGMENT: corrupt batch in .*\.log at byte \d+ \([^;]+; what was read ends before offset [1-5]\)/);
    const printed = out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { value: { n: number } }).value.n);
    expect(printed.length).toBeLessThan(6);
    expect(printed).toEqual(printed.map((_, i) => i)); // the messages before the damage, in order
  });

  it('ends quietly with exit 0 when its reader goes away (`ferry tail | head`), not with an EPIPE stack (trial of the packed package)', async () => {
    const { dir, ferry } = await engine();
    await ferry.producer().publishMany('orders', Array.from({ length: 3000 }, (_, n) => ({ value: { n, pad: 'x'.repeat(100) } })));
    await ferry.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/ferry.ts'), 'tail', dir, 'orders'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout.once('data', () => child.stdout.destroy()); // as `head -1` does after its line
    expect(await exited).toBe(0);
    expect(err).toBe('');
  }, 60_000);

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
