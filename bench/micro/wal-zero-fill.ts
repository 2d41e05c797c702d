// One question (issue 11): what does zero fill ahead of the append position save per fdatasync on
// this machine's disk? `npx tsx bench/micro/wal-zero-fill.ts [appends] [rounds] [logs] [bytes]`
// appends batches of `bytes` (default 4 KiB) to real WALs under `fsync: 'always'` (one fdatasync each), with zeroFillBytes 0
// (off: every sync also commits a new file size) and the default 1 MiB, alternating, in this
// process; `logs` > 1 runs that many logs side by side, each appending in step (a partition each,
// on one thread). Prints wall time and CPU (user, system) per append, per round. Files go to
// FERRY_BENCH_DIR or the OS temp dir (which must be on the disk being measured, not tmpfs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileSystem, realClock, WriteAheadLog } from '../../wal/index.ts';

const appends = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const logs = Number(process.argv[4] ?? 1);
const bytes = Number(process.argv[5] ?? 4096);
const payload = new Uint8Array(Math.max(1, bytes - 64)).fill(7);

async function run(zeroFillBytes: number): Promise<{ wallUs: number; userUs: number; systemUs: number }> {
  const dir = mkdtempSync(join(process.env['FERRY_BENCH_DIR'] ?? tmpdir(), 'ferry-zero-fill-'));
  try {
    const opened = await Promise.all(Array.from({ length: logs }, (_, i) => WriteAheadLog.open({ dir: join(dir, String(i)), fs: nodeFileSystem, clock: realClock, fsync: 'always', zeroFillBytes })));
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < appends; i++) await Promise.all(opened.map((log) => log.append({ recordCount: 1, payload, timestamp: i })));
    const wallUs = ((performance.now() - started) * 1000) / appends;
    const used = process.cpuUsage(cpu);
    await Promise.all(opened.map((log) => log.close()));
    return { wallUs, userUs: used.user / appends / logs, systemUs: used.system / appends / logs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${appends} appends of ${bytes} bytes, fsync always, ${logs} log(s) in step; per append (CPU per log's append):`);
for (let round = 1; round <= rounds; round++) {
  for (const zeroFillBytes of [0, 1024 * 1024]) {
    const r = await run(zeroFillBytes);
    console.log(`round ${round} zeroFillBytes ${String(zeroFillBytes).padStart(7)}: wall ${r.wallUs.toFixed(0).padStart(5)} µs, user ${r.userUs.toFixed(0).padStart(4)} µs, system ${r.systemUs.toFixed(0).padStart(4)} µs`);
  }
}
