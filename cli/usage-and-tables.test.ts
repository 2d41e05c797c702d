// What the command line prints for an unknown flag and for a cell of several lines (trial of the
// packed package: `alter-topic --partitions 4` was told to put the flag after `--` as a
// positional; a dead letter's error stack broke the rows of `ferry peek`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
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

  it('prints the version for --version, -V and version, exit 0 (trial of the packed package: an unknown command)', async () => {
    const { version } = JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      let out = '';
      expect(await runCli([flag], { out: (t) => (out += t), err: (t) => (out += t) })).toBe(0);
      expect(out).toBe(version);
    }
  });

  it('peek --from an offset without --partition is bad usage in the flags\' words, exit 2 (not read()\'s options, exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-usage-'));
    try {
      const ferry = await Ferry.open({ dir });
      await ferry.createTopic('orders', { partitions: 2 });
      await ferry.close();
      let err = '';
      expect(await runCli(['peek', dir, 'orders', '--from', '5'], { out: () => {}, err: (t) => (err += t) })).toBe(2);
      expect(err).toBe('ferry peek: --from 5 is an offset, and offsets are per partition: add --partition, or give a time (ISO 8601)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points at the offline commands when the directory is open elsewhere, and at the listing command for an unknown name (trial of the packed package)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-usage-'));
    const ferry = await Ferry.open({ dir });
    try {
      await ferry.createTopic('orders');
      let err = '';
      expect(await runCli(['topics', dir], { out: () => {}, err: (t) => (err += t) })).toBe(3);
      expect(err).toMatch(/^ferry topics: .* is open in another process \(.*\d+\)+; stop it first, or ask it \(its Ferry instance has the same methods\)\. 'ferry tail' and 'ferry verify' read the files while it runs$/);
      await ferry.close();
      err = '';
      expect(await runCli(['delete-group', dir, 'nobody'], { out: () => {}, err: (t) => (err += t) })).toBe(1);
      expect(err).toMatch(new RegExp(`UNKNOWN_GROUP: .*\\. From the command line: ferry groups ${dir} lists the groups$`));
      err = '';
      expect(await runCli(['peek', dir, 'order'], { out: () => {}, err: (t) => (err += t) })).toBe(1);
      expect(err).toMatch(new RegExp(`UNKNOWN_TOPIC: .*\\. From the command line: ferry topics ${dir} lists the topics$`));
    } finally {
      await ferry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
