// The whole `npm run bench` machinery on tiny sizes, as a user runs it (a child process): the
// limits and two scenarios measured (one on the shared workloads, one with its own run: exactly-once), rows and the HTML report written. Nothing about speed is asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromJsonLines } from './report/rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench on tiny sizes', () => {
  it('measures the limits and the scenarios, checks them, and writes rows and a report', () => {
    const out = join(dir, 'rows.jsonl');
    const html = join(dir, 'report.html');
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--tiny', 'consume', 'exactly-once', `--out=${out}`, `--html=${html}`, `--dir=${dir}`, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, FERRY_BENCH_FROM_SOURCE: '1' } });
    const rows = fromJsonLines(readFileSync(out, 'utf8'));
    expect(fromJsonLines(stdout).length).toBe(rows.length); // --json: the same rows on stdout
    expect(rows.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(new Set(rows.map((r) => r.scenario))).toEqual(new Set(['disk', 'msgpack', 'transfer', 'consume', 'exactly-once']));
    const consume = rows.find((r) => r.scenario === 'consume' && r.metric === 'msg/s')!;
    expect(consume.median).toBeGreaterThan(0);
    expect(consume.limit?.name).toBe('msgpack decode 100B');
    expect(consume.ratio).toBeCloseTo(consume.median / consume.limit!.value);
    expect(consume.detail).toContain('delivered and acked once');
    expect(consume.machine.cores).toBeGreaterThan(0);
    // Both pipelines in one cell, the exactlyOnce figure's ratio to the at-least-once one of the same run.
    const eo = rows.find((r) => r.scenario === 'exactly-once' && r.metric === 'exactlyOnce msg/s')!;
    const alo = rows.find((r) => r.scenario === 'exactly-once' && r.metric === 'at-least-once msg/s')!;
    const commit = rows.find((r) => r.scenario === 'exactly-once' && r.metric === 'commit p50 (1 publish + 1 ack)')!;
    expect(commit.median).toBeGreaterThan(0); // the single transaction's commit latency (issue 13's second figure)
    expect(eo.limit).toEqual({ name: 'at-least-once, same run', value: alo.median });
    expect(eo.ratio).toBeCloseTo(eo.median / alo.median);
    expect(eo.detail).toContain('output stored once in both pipelines');
    expect(readFileSync(html, 'utf8')).toContain('<svg');
  });
});
