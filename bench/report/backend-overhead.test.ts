// The backend-against-raw table of bench:nats (issue 15): shares on the right side of 1 for
// throughputs and latencies alike, the 0.8 aim judged on throughput only, a failed side shown.
import { describe, expect, it } from 'vitest';
import { backendOverhead, renderOverhead } from './backend-overhead.ts';
import type { Row } from './rows.ts';

const machine = { cpu: 'test', cores: 2, memBytes: 1, node: 'v0', disk: 'tmp', loadAvg: [0, 0, 0], commit: 'x', date: '2026-12-01' } as unknown as Row['machine'];

function row(workload: string, system: string, metric: string, median: number, status: Row['status'] = 'ok'): Row {
  const throughput = metric === 'msg/s';
  return { schema: 1, profile: 'test', machine, scenario: 'peers', cell: `peers: ${workload} | ${system}`, system, params: {}, metric, unit: throughput ? 'msg/s' : 'ms', better: throughput ? 'higher' : 'lower', status, detail: '', median, min: median, max: median, spread: 0, values: [median] } as unknown as Row;
}

describe('backendOverhead', () => {
  it('gives the backend\'s share of the raw figure (1 = no cost) and judges throughput against the 0.8 aim', () => {
    const rows = [
      row('W1', 'raw', 'msg/s', 10_000),
      row('W1', 'backend', 'msg/s', 9_000),
      row('W2', 'raw', 'msg/s', 10_000),
      row('W2', 'backend', 'msg/s', 5_000),
      row('W3', 'raw', 'deliver p99', 2),
      row('W3', 'backend', 'deliver p99', 4),
      row('W4', 'raw', 'msg/s', 1_000),
      row('W4', 'backend', 'msg/s', Number.NaN, 'failed'),
      row('W1', 'other system', 'msg/s', 1),
    ];
    const lines = backendOverhead(rows, 'backend', 'raw');
    expect(lines.map((l) => [l.workload, l.share, l.meetsAim])).toEqual([
      ['W1', 0.9, true],
      ['W2', 0.5, false],
      ['W3', 0.5, undefined], // a latency twice as long: half, and no throughput aim
      ['W4', undefined, undefined],
    ]);
    const text = renderOverhead(lines, 'backend', 'raw');
    expect(text).toContain('NOT MET');
    expect(text.split('\n').find((l) => l.startsWith('W4'))).toContain('FAILED');
    expect(text).not.toContain('other system');
  });
});
