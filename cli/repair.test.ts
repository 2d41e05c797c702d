// `ferry repair <dir> --yes` (trial of the packed package): the engine's CORRUPT_SEGMENT and
// `ferry verify` said "open with { repair: true }", which a shell had no way to do.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';
import { runCli } from './main.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

/** A directory whose one partition log has a flipped byte in its middle, with batches after it. */
async function damaged(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-repair-'));
  dirs.push(dir);
  const ferry = await Ferry.open({ dir });
  await ferry.createTopic('orders');
  const p = ferry.producer();
  for (let n = 0; n < 8; n++) await p.publish('orders', { value: { n } }); // a batch each
  await ferry.close();
  const partition = join(dir, 'topics/orders/0');
  const file = join(partition, readdirSync(partition).find((f) => f.endsWith('.log'))!);
  const bytes = readFileSync(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  writeFileSync(file, bytes);
  return dir;
}

describe('ferry repair', () => {
  it('says what it would drop and changes nothing without --yes (exit 2); with it, cuts the damaged log, lists it, and the directory opens and verifies clean', async () => {
    const dir = await damaged();
    const refused = await cli('repair', dir);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("repair drops every batch after the first bad one in each damaged log; run 'ferry verify <dir>' to see which, keep a copy of the directory, then run it again with --yes");
    const opened = await cli('inspect', dir);
    expect(opened.code).toBe(4);
    expect(opened.err).toContain(`From the command line: ferry verify ${dir} lists the damage, ferry repair ${dir} --yes cuts it (keep a copy first)`);
    expect((await cli('verify', dir)).out).toContain(`ferry repair ${dir} --yes`);

    const repaired = await cli('repair', dir, '--yes', '--json');
    expect(repaired.code).toBe(0);
    const cut = JSON.parse(repaired.out) as { topic: string; partition: number; cutBytes: number; nextOffset: number }[];
    expect(cut).toEqual([{ topic: 'orders', partition: 0, cutBytes: expect.any(Number), nextOffset: expect.any(Number) }]);
    expect(cut[0]!.cutBytes).toBeGreaterThan(0);
    expect(cut[0]!.nextOffset).toBeLessThan(8);
    expect((await cli('verify', dir)).code).toBe(0);
    const again = await cli('repair', dir, '--yes');
    expect(again.out.trim()).toBe('nothing was cut: no log needed repair');
  });
});
