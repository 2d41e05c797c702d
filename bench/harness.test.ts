// The benchmark harness's own machinery (not Ferry's speed: nothing here asserts a time): the
// statistics, the rows and their JSON, limits and ratios, the comparison's flags, the terminal
// report, the command line. bench/quick-run.test.ts runs the whole machinery on tiny sizes.
import { describe, expect, it } from 'vitest';
import type { CellOutput } from './lib/cell-output.ts';
import { commandLine, parseCli } from './lib/cli.ts';
import type { Machine } from './lib/machine.ts';
import { parseResult, type CellRuns } from './lib/run-cells.ts';
import type { CellPlan } from './lib/scenario.ts';
import { median, quantileSorted, summarise } from './lib/stats.ts';
import { compareRows, MIN_NOISE } from './report/compare.ts';
import { bindingLimit, buildRows, fromJsonLines, rowKey, toJsonLines, type Row } from './report/rows.ts';
import { renderTable } from './report/table.ts';
import { DeliveryTracker } from './workloads/tracker.ts';

const machine: Machine = { cpu: 'test cpu', cores: 2, memBytes: 1, node: 'v0', platform: 'test', disk: '/tmp', loadAvg: [0, 0, 0], commit: 'abc', date: '2026-01-01T00:00:00.000Z' };
const ctx = { profile: 'test', machine };

function plan(id: string, system = 'ferry'): CellPlan {
  return { id, scenario: id.split(':')[0]!, system, params: {} };
}

function output(value: number, ok = true, extra: Partial<CellOutput> = {}): CellOutput {
  return { check: { ok, detail: ok ? 'all acked once' : '3 never acked' }, metrics: [{ name: 'msg/s', unit: 'msg/s', value, better: 'higher', limits: ['disk A', 'msgpack B'] }], ...extra };
}

function limitCell(values: Record<string, number>): CellRuns {
  return { plan: plan('limit: x', 'limit'), reps: [{ ok: true, output: { check: { ok: true, detail: 'raw' }, metrics: Object.entries(values).map(([name, value]) => ({ name, unit: 'msg/s' as const, value, better: 'higher' as const })) } }] };
}

describe('statistics', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('summarises finite values only, with the spread as range over median', () => {
    const s = summarise([10, Number.NaN, 8, 12]);
    expect(s).toMatchObject({ median: 10, min: 8, max: 12, values: [10, 8, 12] });
    expect(s.spread).toBeCloseTo(0.4);
    expect(summarise([7]).spread).toBe(0);
  });

  it('finds quantiles by nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileSorted(sorted, 0.5)).toBe(50);
    expect(quantileSorted(sorted, 0.99)).toBe(99);
    expect(quantileSorted(sorted, 1)).toBe(100);
  });
});

describe('rows', () => {
  it('binds a throughput to its lowest limit and a latency to its highest', () => {
    const measured = new Map([['a', 100], ['b', 50], ['c', 200]]);
    expect(bindingLimit('higher', ['a', 'b', 'missing'], measured)).toEqual({ name: 'b', value: 50 });
    expect(bindingLimit('lower', ['a', 'c'], measured)).toEqual({ name: 'c', value: 200 });
    expect(bindingLimit('higher', ['missing'], measured)).toBeUndefined();
  });

  it('reports the median over repetitions with its ratio to the binding limit', () => {
    const rows = buildRows([limitCell({ 'disk A': 1000, 'msgpack B': 400 }), { plan: plan('publish: x'), reps: [100, 300, 200].map((v) => ({ ok: true as const, output: output(v) })) }], [], ctx);
    const row = rows.find((r) => r.cell === 'publish: x')!;
    expect(row).toMatchObject({ status: 'ok', median: 200, min: 100, max: 300, limit: { name: 'msgpack B', value: 400 }, ratio: 0.5 });
    expect(row.machine.cpu).toBe('test cpu');
  });

  it('gives no figure for a cell whose check failed in any repetition', () => {
    const rows = buildRows([{ plan: plan('consume: x'), reps: [{ ok: true, output: output(100) }, { ok: true, output: output(900, false) }] }], [], ctx);
    expect(rows[0]).toMatchObject({ status: 'failed', values: [] });
    expect(rows[0]!.median).toBeNaN();
    expect(rows[0]!.detail).toContain('3 never acked');
    expect(rows[0]!.ratio).toBeUndefined();
  });

  it('gives no figure for a cell whose process failed, and says why', () => {
    const rows = buildRows([{ plan: plan('consume: x'), reps: [{ ok: true, output: output(100) }, { ok: false, error: 'exit 1: boom' }] }], [], ctx);
    expect(rows[0]).toMatchObject({ status: 'failed', detail: 'exit 1: boom' });
  });

  it('lists a skipped peer as skipped, with its reason and no figure', () => {
    const rows = buildRows([], [{ scenario: 'peers', cell: 'peers: W1 on nats', system: 'nats', reason: 'nats-server not installed' }], ctx);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'skipped', system: 'nats', detail: 'nats-server not installed' });
    expect(rows[0]!.median).toBeNaN();
  });

  it('round-trips through JSON lines, unmeasured numbers as null', () => {
    const rows = buildRows([{ plan: plan('consume: x'), reps: [{ ok: false, error: 'exit 1' }] }, { plan: plan('publish: y'), reps: [{ ok: true, output: output(5) }] }], [], ctx);
    const text = toJsonLines(rows);
    expect(text.split('\n')[0]).toContain('"median":null');
    const back = fromJsonLines(text);
    expect(back.map(rowKey)).toEqual(rows.map(rowKey));
    expect(back[0]!.median).toBeNaN();
    expect(back[1]!.median).toBe(5);
    for (const row of back) expect(Object.keys(row)).toEqual(expect.arrayContaining(['schema', 'machine', 'cell', 'metric', 'unit', 'median', 'min', 'max', 'spread', 'status', 'detail']));
  });

  it('refuses rows of another schema', () => {
    expect(() => fromJsonLines('{"schema":99,"cell":"x","metric":"y"}\n')).toThrow(/schema 99/);
  });
});

describe('delivery check', () => {
  it('passes when every message is acked once, a redelivered copy answered "already acknowledged"', () => {
    const t = new DeliveryTracker(3);
    for (const seq of [0, 1, 2, 1]) t.onDelivery(seq);
    expect([t.onAckAnswer(0, undefined), t.onAckAnswer(1, true), t.onAckAnswer(1, false), t.onAckAnswer(2, undefined)]).toEqual([false, false, false, true]);
    const check = t.check(0);
    expect(check.ok).toBe(true);
    expect(check.detail).toContain('1 redeliveries; 1 acks of redelivered copies');
  });

  it('fails for a message never acked, one acked twice, one unknown, or one left unsettled', () => {
    const t = new DeliveryTracker(3);
    t.onDelivery(0);
    t.onDelivery(7);
    t.onAcked(0);
    t.onAcked(0);
    const check = t.check(4);
    expect(check.ok).toBe(false);
    expect(check.detail).toBe('2 of 3 never acked; 1 acked more than once; 1 deliveries of unknown messages; 4 left unsettled after the drain');
  });

  it('fails when fewer redeliveries came than failures were asked for', () => {
    const t = new DeliveryTracker(1);
    t.onDelivery(0);
    t.onAcked(0);
    expect(t.check(0, 1)).toMatchObject({ ok: false, detail: '0 redeliveries, expected at least 1' });
  });
});

describe('compare', () => {
  function row(cell: string, median: number, spread: number, better: 'higher' | 'lower' = 'higher', status: Row['status'] = 'ok'): Row {
    return { ...buildRows([], [], ctx)[0]!, schema: 1, profile: 'test', machine, scenario: 's', cell, system: 'ferry', params: {}, metric: 'm', unit: 'msg/s', better, status, detail: '', median, min: median, max: median, spread, values: [median] };
  }

  it('flags a change beyond the larger measured spread, in the right direction', () => {
    const out = compareRows([row('a', 100, 0.1), row('b', 100, 0.1), row('c', 10, 0.02, 'lower')], [row('a', 125, 0.1), row('b', 70, 0.05), row('c', 12, 0.02, 'lower')]);
    expect(out.map((c) => c.verdict)).toEqual(['better', 'worse', 'worse']);
    expect(out[0]!.change).toBeCloseTo(0.25);
  });

  it('does not flag a change within the noise, nor one below the floor with no spread', () => {
    const out = compareRows([row('a', 100, 0.3), row('b', 100, 0)], [row('a', 120, 0.1), row('b', 100 * (1 + MIN_NOISE / 2), 0)]);
    expect(out.map((c) => c.verdict)).toEqual(['noise', 'noise']);
  });

  it('names figures that are new, gone, or failed on either side', () => {
    const out = compareRows([row('gone', 1, 0), row('f', 1, 0)], [row('new', 1, 0), row('f', Number.NaN, Number.NaN, 'higher', 'failed')]);
    expect(Object.fromEntries(out.map((c) => [c.key.split(' ')[0], c.verdict]))).toEqual({ new: 'new', f: 'not comparable', gone: 'gone' });
  });
});

describe('terminal report', () => {
  it('prints figures with their limit and ratio, and a failed cell as FAILED without a figure', () => {
    const rows = buildRows([limitCell({ 'disk A': 1_000_000 }), { plan: plan('publish: fine'), reps: [{ ok: true, output: output(250_000) }] }, { plan: plan('publish: broken'), reps: [{ ok: true, output: output(999_999, false) }] }], [], ctx);
    const text = renderTable(rows, new Map([['publish', 'How fast?']]));
    expect(text).toContain('== publish: How fast?');
    const fine = text.split('\n').find((l) => l.startsWith('fine'))!;
    expect(fine).toContain('250k');
    expect(fine).toContain('1.00M disk A');
    expect(fine).toMatch(/0\.25$/);
    const broken = text.split('\n').find((l) => l.startsWith('broken'))!;
    expect(broken).toContain('FAILED');
    expect(broken).not.toContain('1.00M');
  });
});

describe('command line', () => {
  it('takes the quick profile, repetitions and a comparison file', () => {
    const cli = parseCli(['--quick', '--reps=5', '--compare=old.jsonl', 'publish'], 'bench');
    expect(cli).toMatchObject({ names: ['publish'], comparePath: 'old.jsonl', json: false });
    expect(cli.profile).toMatchObject({ name: 'quick', reps: 5 });
    expect(parseCli([], 'bench').profile.name).toBe('full');
  });

  it('sizes the memory scenario as asked (issue 11: 10 million messages) and refuses a bad size', () => {
    expect(parseCli(['memory', '--memory-messages=10000000'], 'bench').profile.memoryMessages).toBe(10_000_000);
    expect(parseCli(['--quick'], 'bench').profile.memoryMessages).toBe(50_000);
    expect(() => parseCli(['--memory-messages=0'], 'bench')).toThrow(/--memory-messages/);
    expect(parseCli(['--threads=0,auto'], 'bench').profile.threads).toEqual([0, 'auto']); // the full profile's N with fewer Ferry rows
    expect(parseCli([], 'bench').profile.threads).toEqual([0, 1, 'auto']);
    expect(() => parseCli(['--threads=one'], 'bench')).toThrow(/--threads/);
    expect(() => parseCli(['--threads'], 'bench')).toThrow(/--threads/);
  });

  it('names the command that reproduces a run, without its output paths', () => {
    expect(commandLine('bench', ['--quick', 'publish', '--out=x.jsonl', '--json', '--compare=old.jsonl'])).toBe('npm run bench -- --quick publish');
    expect(commandLine('bench:peers', [])).toBe('npm run bench:peers');
  });

  it('refuses an unknown option and a bad repetition count', () => {
    expect(() => parseCli(['--qiuck'], 'bench')).toThrow(/unknown option --qiuck/);
    expect(() => parseCli(['--reps=0'], 'bench')).toThrow(/--reps/);
  });

  it('reads the result line among a child\'s other output', () => {
    expect(parseResult('noise\nRESULT {"metrics":[],"check":{"ok":true,"detail":"d"}}\nmore')).toEqual({ metrics: [], check: { ok: true, detail: 'd' } });
    expect(parseResult('no result here')).toBeUndefined();
  });
});
