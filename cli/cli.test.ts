// The `ferry` bin, run as a user runs it: in a child process, on a data directory written by an
// engine in this process (closed first, or held open to see the lock refused).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
import { COMMANDS } from './commands.ts';
import { OFFLINE_COMMANDS } from './offline-commands.ts';
import { runCli } from './main.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..');

/** Runs the bin; resolves with its exit code and output (never rejects on a non-zero exit). */
async function ferryBin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO, 'cli/ferry.ts'), ...args], { cwd: REPO, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs the command line in this process (for the many help screens). */
async function inProcess(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

describe('ferry (the bin)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    const ferry = await Ferry.open({ dir });
    await ferry.createTopic('orders', { maxDeliveries: 1 });
    await ferry.producer().publishMany('orders', [1, 2, 3].map((n) => ({ value: { n }, key: `k${n}` })));
    const c = ferry.consumer('billing', { topics: ['orders'] });
    await (await c.next())!.ack();
    await (await c.next())!.nack({ error: 'poison pill' });
    for (let i = 0; i < 200 && (await ferry.read('orders.dlq')).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await c.close();
    await ferry.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists topics and groups, peeks the dead-letter topic and tells a message\'s history, as JSON', async () => {
    const topics = await ferryBin('topics', dir, '--json');
    expect(topics.code).toBe(0);
    expect((JSON.parse(topics.stdout) as { name: string; deadLetterOf: string[] }[]).map((t) => [t.name, t.deadLetterOf])).toEqual(expect.arrayContaining([['orders', []], ['orders.dlq', ['orders']]]));
    const groups = await ferryBin('groups', dir, '--json');
    expect(JSON.parse(groups.stdout)).toEqual([expect.objectContaining({ group: 'billing', topic: 'orders', lag: 1 })]);
    const peek = await ferryBin('peek', dir, 'orders.dlq', '--json');
    expect(JSON.parse(peek.stdout)).toEqual([expect.objectContaining({ value: { n: 2 }, key: 'k2', deadLetter: expect.objectContaining({ topic: 'orders', offset: 1, group: 'billing', lastError: 'poison pill' }) })]);
    const history = await ferryBin('history', dir, 'orders', '0', '1', '--json');
    expect((JSON.parse(history.stdout) as { steps: { kind: string }[] }).steps.map((s) => s.kind)).toEqual(['deadLetterIntent', 'deadLettered']);
    const table = await ferryBin('inspect', dir);
    expect(table.stdout).toMatch(/^TOPIC\s+PARTITIONS\s+END OFFSETS/);
    expect(table.stdout).toMatch(/\nGROUP\s+TOPIC\s+LAG/);
    expect(table.stdout).toMatch(/billing\s+orders\s+1\b/);
  });

  it('prints the Prometheus text of the directory, which a parser reads', async () => {
    const { code, stdout } = await ferryBin('metrics', dir);
    expect(code).toBe(0);
    const lag = parsePrometheusTextFormat(stdout).find((f) => f.name === 'ferry_consumer_lag')!;
    expect(lag.metrics).toEqual([expect.objectContaining({ labels: expect.objectContaining({ messaging_consumer_group_name: 'billing', messaging_destination_name: 'orders' }), value: '1' })]);
  });

  it('redrives the dead letter and resets the group; the data directory shows both', async () => {
    expect(await ferryBin('redrive', dir, 'orders.dlq')).toMatchObject({ code: 0, stdout: 'redrove 1 dead letter from orders.dlq\n' });
    const reset = await ferryBin('reset-group', dir, 'billing', 'orders', '--to', 'earliest');
    expect(reset.code).toBe(0);
    const groups = JSON.parse((await ferryBin('groups', dir, '--json')).stdout) as { group: string; lag: number }[];
    expect(groups.find((g) => g.group === 'billing')!.lag).toBe(4); // the three messages again, and the redriven copy
  });

  it('alter-topic changes options durably and prints them; no option, a bad backoff or an unknown topic is refused', async () => {
    const altered = await inProcess('alter-topic', dir, 'orders', '--max-deliveries', '3', '--retention-ms', '60000', '--backoff', 'fixed:250', '--json');
    expect(altered.code).toBe(0);
    expect(JSON.parse(altered.out)).toMatchObject({ maxDeliveries: 3, retention: { ms: 60000, bytes: 0 }, backoff: { kind: 'fixed', delayMs: 250 } });
    const topics = JSON.parse((await inProcess('topics', dir, '--json')).out) as { name: string; options: { maxDeliveries: number } }[];
    expect(topics.find((t) => t.name === 'orders')!.options.maxDeliveries).toBe(3);
    expect(await inProcess('alter-topic', dir, 'orders')).toMatchObject({ code: 2, err: expect.stringContaining('at least one option') });
    expect(await inProcess('alter-topic', dir, 'orders', '--backoff', 'linear:5')).toMatchObject({ code: 2, err: expect.stringContaining('fixed:MS') });
    expect(await inProcess('alter-topic', dir, 'nope', '--max-deliveries', '2')).toMatchObject({ code: 1, err: expect.stringContaining('UNKNOWN_TOPIC') });
  });

  it('refuses a directory open in another process with exit 3, a missing one with exit 1, bad usage with exit 2', async () => {
    const ferry = await Ferry.open({ dir });
    try {
      const locked = await ferryBin('topics', dir);
      expect(locked.code).toBe(3);
      expect(locked.stderr).toContain('is open in another process');
    } finally {
      await ferry.close();
    }
    const missing = await ferryBin('topics', join(dir, 'nope'));
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('is not a Ferry data directory (it does not exist)') });
    expect(readdirSync(dir)).not.toContain('nope'); // looking did not create it
    const usage = await ferryBin('peek', dir);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('missing <topic>') });
    expect((await ferryBin('reset-group', dir, 'billing', 'orders', '--to', 'first')).code).toBe(2);
    expect((await ferryBin('topics', dir, '--bogus')).code).toBe(2);
  });

  it('refuses to delete a group that is on no topic (or not on --topic) with exit 1 and UNKNOWN_GROUP', async () => {
    const nobody = await inProcess('delete-group', dir, 'nobody');
    expect(nobody).toMatchObject({ code: 1, out: '', err: expect.stringContaining('ferry delete-group: UNKNOWN_GROUP: consumer group "nobody" is not registered on any topic') });
    expect(await inProcess('delete-group', dir, 'ops-temp', '--topic', 'orders')).toMatchObject({ code: 1, err: expect.stringContaining('on topic "orders"') });
  });

  it('reports a corrupt segment with exit 4 and what to do', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'ferry-cli-corrupt-'));
    try {
      const ferry = await Ferry.open({ dir: broken, segmentBytes: 256 });
      await ferry.createTopic('t');
      for (let n = 0; n < 8; n++) await ferry.producer().publish('t', { value: 'x'.repeat(40) + n }); // a batch each: several segments
      await ferry.close();
      const partition = join(broken, 'topics/t/0');
      const sealed = readdirSync(partition).filter((f) => f.endsWith('.log')).sort()[0]!;
      writeFileSync(join(partition, sealed), Buffer.alloc(64, 0x5a), { flag: 'r+' });
      const result = await ferryBin('peek', broken, 't', '--partition', '0');
      expect(result.code).toBe(4);
      expect(result.stderr).toContain('CORRUPT_SEGMENT');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('ferry --help', () => {
  it('every command has a help screen with its arguments and flags (exit 0); no command prints the usage (exit 2)', async () => {
    for (const [name, command] of Object.entries({ ...COMMANDS, ...OFFLINE_COMMANDS })) {
      const { code, out } = await inProcess(name, '--help');
      expect(code).toBe(0);
      expect(out).toContain(`Usage: ferry ${name} ${command.positionals.map((p) => `<${p}>`).join(' ')}`);
      for (const flag of Object.keys(command.flags)) expect(out).toContain(`--${flag}`);
    }
    expect((await inProcess('--help')).code).toBe(0);
    const none = await inProcess();
    expect(none.code).toBe(2);
    expect(none.err).toContain('Commands:');
    expect((await inProcess('nope')).code).toBe(2);
  });
});
