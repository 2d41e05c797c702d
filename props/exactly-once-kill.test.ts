// An exactlyOnce pipeline in a child process, SIGKILLed again and again mid-stream (issue 13):
// after a last run drains it, every input's outputs are in the output topic exactly once, and
// every input is acked. In the style of pino's exit tests: the fixture is a real process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ferry } from '../index.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'exactly-once-pipeline.ts');
const INPUTS = 2000; // enough that six short runs cannot finish them on a fast, idle machine

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs the fixture; with `killAfterMs`, SIGKILLs it that long after it started consuming. */
function child(where: string, mode: 'run' | 'drain', killAfterMs?: number): Promise<{ code: number | null; signal: string | null; stderr: string; handled: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', FIXTURE, where, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let handled = 0;
    p.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    p.stdout.on('data', (chunk: Buffer) => {
      handled += chunk.toString().split('.').length - 1;
      if (killAfterMs !== undefined && chunk.toString().includes('started')) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => resolve({ code, signal, stderr, handled }));
  });
}

describe('an exactlyOnce pipeline killed with SIGKILL', () => {
  it("ends with each input's outputs exactly once", async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-eo-kill-'));
    const setup = await Ferry.open({ dir });
    await setup.createTopic('in', { partitions: 2 });
    await setup.createTopic('out', { partitions: 2 });
    await setup.producer().publishMany('in', Array.from({ length: INPUTS }, (_, i) => ({ value: i, key: `k${i}` })));
    await setup.close();

    const handledPerKill: number[] = [];
    for (const killAfterMs of [40, 150, 90, 250, 20, 120]) {
      const r = await child(dir, 'run', killAfterMs);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      handledPerKill.push(r.handled);
    }
    const last = await child(dir, 'drain');
    expect(last.code, last.stderr).toBe(0);
    // The kills landed mid-stream: killed runs handled inputs, and left some for the last run.
    expect(handledPerKill.filter((n) => n > 0).length, `handlers started per killed run: ${handledPerKill.join(' ')}`).toBeGreaterThan(2);
    expect(last.handled).toBeGreaterThan(0);

    const ferry = await Ferry.open({ dir });
    const seen = new Map<string, number>();
    const audit = ferry.consumer<string>('audit', { topics: ['out'], maxInFlight: 512, pollWaitMs: 50 });
    const auditing = audit.run((d) => void seen.set(d.value, (seen.get(d.value) ?? 0) + 1), { concurrency: 8 });
    const deadline = Date.now() + 20_000;
    while (seen.size < 2 * INPUTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a duplicate to show
    await audit.close();
    await auditing;
    const expected = Array.from({ length: INPUTS }, (_, i) => [`${i}:0`, `${i}:1`]).flat().sort();
    expect([...seen.keys()].sort()).toEqual(expected);
    expect([...seen.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    // Every input was acked with its outputs: the pipeline's group has nothing left.
    const rest: unknown[] = [];
    const left = ferry.consumer('pipeline', { topics: ['in'], pollWaitMs: 50 });
    const draining = left.run((d) => void rest.push(d.value));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await left.close();
    await draining;
    expect(rest).toEqual([]);
    await ferry.close();
  }, 120_000);
});
