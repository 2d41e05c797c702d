// What the command line prints for an unknown flag and for a cell of several lines (trial of the
// packed package: `alter-topic --partitions 4` was told to put the flag after `--` as a
// positional; a dead letter's error stack broke the rows of `ferry peek`).
import { describe, expect, it } from 'vitest';
import { runCli } from './main.ts';
import { table } from './table.ts';

describe('command line usage and tables', () => {
  it('names an unknown flag and the flags the command takes, exit 2', async () => {
    let err = '';
    const code = await runCli(['alter-topic', '/nowhere', 'orders', '--partitions', '4'], { out: () => {}, err: (t) => (err += t) });
    expect(code).toBe(2);
    expect(err).toContain('ferry alter-topic: unknown flag --partitions; this command takes --max-deliveries, --backoff, --ack-timeout-ms, --dedup-window-ms, --retention-ms, --retention-bytes, --json and --help');
    expect(err).not.toContain("place it at the end of the command after '--'");
    err = '';
    expect(await runCli(['verify', '/nowhere', '-x'], { out: () => {}, err: (t) => (err += t) })).toBe(2);
    expect(err).toContain('ferry verify: unknown flag -x; this command takes --json and --help');
  });

  it('keeps each row on one line: a cell of several lines shows its first, marked', () => {
    const out = table(['OFFSET', 'DEAD LETTER OF'], [[0, 'orders[0]@3 billing: Error: card declined\n    at charge (/app/billing.ts:10:11)\r\n    at run'], [1, '-']]);
    expect(out.split('\n')).toEqual(['OFFSET  DEAD LETTER OF', '     0  orders[0]@3 billing: Error: card declined …', '     1  -']);
  });
});
