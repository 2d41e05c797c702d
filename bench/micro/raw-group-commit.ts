// The floor under W3 (issue 11): publish -> durable at a steady rate with no engine at all.
// `npx tsx bench/micro/raw-group-commit.ts [rate] [seconds]` writes a 120-byte record per message
// at `rate` msg/s (default 5,000) with a positioned writeSync, and keeps one fdatasync in flight
// (the next starts when it completes, covering everything written meanwhile): group commit by
// hand. Prints the latency from a record's write to the end of the sync covering it. Ferry's
// confirm waits the same two syncs at worst (the one in flight, then its own); compare with
// `bench/micro/syncs-per-confirm.ts` and the latency scenario run in the same minute, since this
// disk's syncs vary from minute to minute. Files go to FERRY_BENCH_DIR or the OS temp dir.
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rate = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(process.env['FERRY_BENCH_DIR'] ?? tmpdir(), 'ferry-raw-commit-'));
const fd = openSync(join(dir, 'log'), 'w');
const record = Buffer.alloc(120, 7);
const total = rate * seconds;
const warm = Math.floor(total / 5);
const latencies: number[] = [];
let waiting: { at: number; timed: boolean }[] = [];
let syncing = false;
let position = 0;

function sync(): void {
  if (syncing || waiting.length === 0) return;
  syncing = true;
  const covered = waiting;
  waiting = [];
  fdatasync(fd, (error) => {
    if (error) throw error;
    const now = performance.now();
    for (const w of covered) if (w.timed) latencies.push(now - w.at);
    syncing = false;
    sync();
  });
}

const start = performance.now();
let sent = 0;
await new Promise<void>((done) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      const at = performance.now();
      writeSync(fd, record, 0, record.length, position);
      position += record.length;
      waiting.push({ at, timed: sent >= warm });
    }
    sync();
    if (sent >= total) done();
    else setImmediate(tick);
  };
  tick();
});
while (syncing || waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
latencies.sort((a, b) => a - b);
const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]!.toFixed(3);
console.log(JSON.stringify({ rate, messages: latencies.length, p50Ms: Number(at(0.5)), p99Ms: Number(at(0.99)) }));
closeSync(fd);
rmSync(dir, { recursive: true, force: true });
