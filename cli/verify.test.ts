// `ferry verify` (issue 12 §CLI): an offline check of a data directory that reports corruption
// with its file and byte and exits 4, tells a torn tail from corruption, and changes nothing.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
import { runCli } from './main.ts';

const REPO = resolve(import.meta.dirname, '..');

async function verify(dir: string, ...flags: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(['verify', dir, ...flags], { out: (t) => (out += `${t}\n`), err: (t) => (out += `${t}\n`) });
  return { code, out };
}

/** A digest of every file under `dir` (names, sizes and bytes). */
function digest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(path).update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

describe('ferry verify', () => {
  let good: string;
  const copies: string[] = [];
  const copy = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-verify-copy-'));
    cpSync(good, dir, { recursive: true });
    copies.push(dir);
    return dir;
  };

  beforeAll(async () => {
    good = mkdtempSync(join(tmpdir(), 'ferry-verify-'));
    const ferry = await Ferry.open({ dir: good, segmentBytes: 512 });
    await ferry.createTopic('orders', { partitions: 2, maxDeliveries: 1 });
    const p = ferry.producer();
    for (let n = 0; n < 12; n++) await p.publish('orders', { value: { n, pad: 'x'.repeat(60) }, key: `k${n % 2}` }); // a batch each: several segments
    const c = ferry.consumer('billing', { topics: ['orders'] });
    await (await c.next())!.ack();
    await (await c.next())!.nack({ error: 'poison' });
    for (let i = 0; i < 200 && (await ferry.read('orders.dlq')).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await c.close();
    await ferry.close();
  });
  afterAll(() => {
    for (const dir of [good, ...copies]) rmSync(dir, { recursive: true, force: true });
  });

  it('finds nothing wrong in a directory an engine closed, reads every log and record, and changes no byte', async () => {
    const before = digest(good);
    const { code, out } = await verify(good, '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as { ok: boolean; findings: unknown[]; logs: { name: string; batches: number; segments: number }[] };
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.logs.map((l) => l.name)).toEqual(expect.arrayContaining(['_catalog', 'topics/orders/0', 'topics/orders/1', 'topics/orders.dlq/0']));
    expect(report.logs.filter((l) => l.name.startsWith('topics/orders/')).reduce((n, l) => n + l.segments, 0)).toBeGreaterThan(2);
    expect(digest(good)).toBe(before);
    expect(readdirSync(good)).not.toContain('LOCK'); // no lock taken (the engine removed its own at close)
  });

  it('reports bytes changed inside a sealed segment as corruption, with the file and byte, and exits 4', async () => {
    const dir = copy();
    const partition = join(dir, 'topics/orders/0');
    const sealed = readdirSync(partition).filter((f) => f.endsWith('.log')).sort()[0]!;
    const bytes = readFileSync(join(partition, sealed));
    bytes[100] = bytes[100]! ^ 0xff; // inside the first batch's payload: its CRC no longer matches
    writeFileSync(join(partition, sealed), bytes);
    const before = digest(dir);
    const { code, out } = await verify(dir);
    expect(code).toBe(4);
    expect(out).toMatch(new RegExp(`corrupt\\s+topics/orders/0/${sealed}\\s+0\\s+0\\s+crc mismatch`));
    expect(out).toContain('CORRUPT');
    expect(digest(dir)).toBe(before);
  });

  it('tells a torn tail (a write a crash cut short) from corruption: exit 0, reported', async () => {
    const dir = copy();
    const partition = join(dir, 'topics/orders/1');
    const active = readdirSync(partition).filter((f) => f.endsWith('.log')).sort().at(-1)!;
    appendFileSync(join(partition, active), Buffer.from([0x46, 0x52, 0x59, 0x31, 1, 2, 3])); // the start of a batch header, then nothing
    const { code, out } = await verify(dir, '--json');
    expect(code).toBe(0);
    expect((JSON.parse(out) as { findings: unknown[] }).findings).toEqual([expect.objectContaining({ where: `topics/orders/1/${active}`, kind: 'torn-tail', reason: 'truncated header' })]);
  });

  it('reports a partition directory beyond the topic partition count as corruption', async () => {
    const dir = copy();
    cpSync(join(dir, 'topics/orders/1'), join(dir, 'topics/orders/7'), { recursive: true });
    const { code, out } = await verify(dir, '--json');
    expect(code).toBe(4);
    expect((JSON.parse(out) as { findings: { where: string; kind: string }[] }).findings).toEqual([expect.objectContaining({ where: 'topics/orders/7', kind: 'corrupt' })]);
  });

  it('runs as the bin: exit code 4 on the corrupt copy', async () => {
    const dir = copy();
    const partition = join(dir, 'topics/orders/0');
    const sealed = readdirSync(partition).filter((f) => f.endsWith('.log')).sort()[0]!;
    writeFileSync(join(partition, sealed), Buffer.alloc(64, 0x5a), { flag: 'r+' });
    const code = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO, 'cli/ferry.ts'), 'verify', dir], { cwd: REPO, timeout: 60_000 }).then(
      () => 0,
      (error: { code?: number }) => error.code,
    );
    expect(code).toBe(4);
  });
});
