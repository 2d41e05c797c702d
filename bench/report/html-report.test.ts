// The HTML report and the side-by-side table: self-contained, failed figures never drawn, each
// peer's figure against Ferry's in the right direction.
import { describe, expect, it } from 'vitest';
import type { CellOutput } from '../lib/cell-output.ts';
import type { Machine } from '../lib/machine.ts';
import type { CellRuns } from '../lib/run-cells.ts';
import { compareRows } from './compare.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { buildRows } from './rows.ts';
import { ferryAdvantage, sideBySide } from './side-by-side.ts';
import { esc, niceTicks } from './svg.ts';
import { renderSideBySide } from './table.ts';

const machine: Machine = { cpu: 'cpu <x>', cores: 2, memBytes: 2 ** 30, node: 'v0', platform: 'p', disk: '/tmp', loadAvg: [1, 1, 1], commit: 'abc', date: 'd' };

function peerCell(workload: string, system: string, metrics: Record<string, number>, ok = true): CellRuns {
  const output: CellOutput = {
    check: { ok, detail: ok ? 'fine' : '7 never acked' },
    confirmMeans: `${system} confirms somehow`,
    metrics: Object.entries(metrics).map(([name, value]) => ({ name, unit: name === 'msg/s' ? ('msg/s' as const) : ('ms' as const), value, better: name === 'msg/s' ? ('higher' as const) : ('lower' as const) })),
    distributions: { 'publish -> deliver': [[50, 1], [99, 4], [100, 9]] },
  };
  return { plan: { id: `peers: ${workload} | ${system}`, scenario: 'peers', system, params: {} }, reps: [{ ok: true, output }] };
}

const rows = buildRows(
  [peerCell('W1', 'ferry threads=0', { 'msg/s': 300_000, 'confirm p99': 2 }), peerCell('W1', 'redis', { 'msg/s': 100_000, 'confirm p99': 8 }), peerCell('W1', 'nats', { 'msg/s': 999_999_999, 'confirm p99': 1 }, false)],
  [{ scenario: 'peers', cell: 'peers: all workloads | rabbitmq', system: 'rabbitmq', reason: 'rabbitmq could not start: exited (1)' }],
  { profile: 'test', machine },
);

describe('side by side', () => {
  it('puts every system in one line per figure, Ferry first as the reference', () => {
    const table = sideBySide(rows);
    expect(table.systems).toEqual(['ferry threads=0', 'redis', 'nats']);
    expect(table.reference).toBe('ferry threads=0');
    expect(table.lines.map((l) => l.metric)).toEqual(['msg/s', 'confirm p99']);
  });

  it('says how many times better Ferry is, for throughput and for latency alike', () => {
    const [rate, p99] = sideBySide(rows).lines;
    expect(ferryAdvantage(rate!.cells.get('ferry threads=0'), rate!.cells.get('redis'))).toBeCloseTo(3);
    expect(ferryAdvantage(p99!.cells.get('ferry threads=0'), p99!.cells.get('redis'))).toBeCloseTo(4);
    expect(ferryAdvantage(rate!.cells.get('ferry threads=0'), rate!.cells.get('nats'))).toBeUndefined();
  });

  it('prints a failed peer as FAILED and a skipped one with its reason', () => {
    const text = renderSideBySide(rows);
    expect(text).toContain('100k (Ferry 3.0x)');
    expect(text).toContain('FAILED');
    expect(text).not.toContain('1.00G');
    expect(text).toContain('skipped: rabbitmq could not start');
  });
});

describe('HTML report', () => {
  const html = renderHtml({ title: 'T', command: 'npm run bench:peers', rows, questions: new Map(), comparison: compareRows(rows, rows), comparedWith: 'old.jsonl' });

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<script|<link|\ssrc=|url\(|https?:\/\//i);
    expect(html).toContain('<svg');
  });

  it('shows the machine (escaped), the command, what confirms mean, and skipped peers', () => {
    expect(html).toContain('cpu &lt;x&gt; × 2');
    expect(html).toContain('<code>npm run bench:peers</code>');
    expect(html).toContain('redis confirms somehow');
    expect(html).toContain('rabbitmq could not start');
  });

  it('marks a failed figure FAILED and never draws or prints its value', () => {
    expect(html).toContain('FAILED');
    expect(html).not.toContain('1.00G');
    expect(html).toContain('Ferry 3.0×');
  });

  it('includes the comparison, with nothing flagged against itself', () => {
    expect(html).toContain('Compared with old.jsonl');
    expect(html).toContain('0 change(s) beyond the noise');
  });

  it('escapes text for HTML', () => {
    expect(esc(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });
});

describe('Markdown for the README', () => {
  it('carries the command, the machine, one column per system, and failed or skipped peers as such', () => {
    const md = renderMarkdown(rows, 'npm run bench:peers');
    expect(md).toContain('Reproduce with `npm run bench:peers`. cpu <x> × 2');
    expect(md).toContain('| figure | ferry threads=0 | redis | nats |');
    expect(md).toContain('| W1: msg/s | 300k | 100k (Ferry 3.0×) | FAILED |');
    expect(md).toContain('- skipped: rabbitmq could not start');
    expect(md).not.toContain('1.00G');
  });
});

describe('chart ticks', () => {
  it('steps 1-2-5 on a linear scale and per decade on a log scale', () => {
    expect(niceTicks(0, 11, false)).toEqual([0, 5, 10]);
    expect(niceTicks(0, 100, false)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.3, 60, true)).toEqual([0.5, 1, 2, 5, 10, 20, 50]);
  });
});
