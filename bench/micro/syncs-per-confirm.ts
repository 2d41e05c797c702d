// One question (issue 11, W3): how many fdatasyncs does a publish wait for before its confirm, at a
// steady rate? A count, unlike milliseconds, does not move with the disk's minute.
// `npx tsx bench/micro/syncs-per-confirm.ts [entry] [rate] [partitions] [threads]` publishes 100-byte
// messages at `rate` msg/s (default 5,000) for 3 s to a topic of `partitions` (default 1) while a
// consumer acks each, and counts the fdatasync calls that completed between each publish and its
// confirm (this process's calls: with threads > 0 the partitions sync in a worker, so use 0).
// `entry`: a built package's dist/index.js (default: this checkout's source), so two builds compare.
// Syncs that run back to back put the floor at 2: the one in flight, then the message's own.
import fs from 'node:fs'; // the module object itself: its named exports are read-only views of it
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entryArg, rateArg, partitionsArg, threadsArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 5000);
const partitions = Number(partitionsArg ?? 1);
const threads = Number(threadsArg ?? 0);

let completed = 0;
let calls = 0;
let syncMs = 0;
const fdatasync = fs.fdatasync;
// Counted where the log's seam calls it; patched before Ferry is loaded.
fs.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
  calls++;
  const started = performance.now();
  fdatasync(fd, (error) => {
    completed++;
    syncMs += performance.now() - started;
    callback(error);
  });
}) as typeof fs.fdatasync;
syncBuiltinESMExports();

const entry = entryArg && entryArg !== '-' ? pathToFileURL(resolve(entryArg)).href : new URL('../../index.ts', import.meta.url).href;
const { Ferry } = (await import(entry)) as typeof import('../../index.ts');
const dir = fs.mkdtempSync(join(process.env['FERRY_BENCH_DIR'] ?? tmpdir(), 'ferry-syncs-'));
const ferry = await Ferry.open({ dir, threads, fsync: 'interval' });
await ferry.createTopic('t', { partitions });
const producer = ferry.producer();
const consumer = ferry.consumer('g', { topics: ['t'], maxInFlight: 1000 });
const consuming = (async () => {
  for await (const d of consumer) void d.ack();
})();

const total = rate * 3;
const warm = Math.floor(total / 5);
const waited: number[] = [];
let callsAtWarm = 0;
let syncMsAtWarm = 0;
let sent = 0;
const start = performance.now();
await new Promise<void>((done) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) {
      if (sent === warm) {
        callsAtWarm = calls;
        syncMsAtWarm = syncMs;
      }
      const at = completed;
      const timed = sent >= warm;
      void producer.publish('t', { value: Buffer.alloc(100, sent & 0xff) }).then(() => timed && waited.push(completed - at));
    }
    if (sent >= total) done();
    else setImmediate(tick);
  };
  tick();
});
await producer.close();
const timed = total - warm;
waited.sort((a, b) => a - b);
const share = (n: number): string => `${((waited.filter((w) => (n === 4 ? w >= 4 : w === n)).length / waited.length) * 100).toFixed(0)}%`;
console.log(
  JSON.stringify({
    rate,
    partitions,
    threads,
    syncsWaitedP50: waited[Math.floor(waited.length / 2)],
    syncsWaitedMean: Number((waited.reduce((a, b) => a + b, 0) / waited.length).toFixed(2)),
    shares: { '1': share(1), '2': share(2), '3': share(3), '4+': share(4) },
    syncsPerMessage: Number(((calls - callsAtWarm) / timed).toFixed(3)),
    syncMsMean: Number(((syncMs - syncMsAtWarm) / Math.max(1, calls - callsAtWarm)).toFixed(3)),
  }),
);
await consumer.close({ timeoutMs: 1000 });
await consuming;
await ferry.close();
fs.rmSync(dir, { recursive: true, force: true });
