// `npm start`: a small real run of Ferry's write-ahead log on a local data directory.
// A child process appends batches and reports each confirmed offset; the demo kills it with
// SIGKILL mid-stream, reopens the log, and checks that every confirmed batch is there.
// (The engine demo of topics and consumers replaces this once the engine core lands.)
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WriteAheadLog, nodeFileSystem, realClock } from '../wal/index.ts';

const dir = resolve(process.env.FERRY_DEMO_DIR ?? '.data/demo-wal');
const open = () => WriteAheadLog.open({ dir, fs: nodeFileSystem, clock: realClock, fsync: 'interval', segmentBytes: 256 * 1024 });

function payload(i: number): Uint8Array {
  return Buffer.from(JSON.stringify({ order: i, item: `widget-${i % 97}`, qty: 1 + (i % 5) }).padEnd(100));
}

/** Child: append forever, printing each confirmed base offset, until killed. */
async function writer(): Promise<void> {
  const log = await open();
  let i = log.nextOffset;
  const inFlight = new Set<Promise<void>>();
  for (;;) {
    const p: Promise<void> = log.append({ recordCount: 1, payload: payload(i++), timestamp: realClock.now() }).then((r) => {
      process.stdout.write(`${r.baseOffset}\n`);
      inFlight.delete(p);
    });
    inFlight.add(p);
    if (inFlight.size >= 256) await Promise.race(inFlight);
  }
}

/** Starts from an empty log: removes the files a previous run left (through the FileSystem seam). */
function clearLog(): void {
  if (!nodeFileSystem.exists(dir)) return;
  for (const name of nodeFileSystem.list(dir)) nodeFileSystem.remove(join(dir, name));
}

async function main(): Promise<void> {
  clearLog();
  console.log(`Ferry write-ahead log demo in ${dir}`);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--writer'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FERRY_DEMO_DIR: dir } });
  let confirmed = -1;
  let count = 0;
  const started = realClock.now();
  for await (const line of createInterface({ input: child.stdout! })) {
    confirmed = Math.max(confirmed, Number(line));
    if (++count === 50_000) {
      child.kill('SIGKILL');
      break;
    }
  }
  await new Promise((r) => child.once('exit', r));
  const seconds = (realClock.now() - started) / 1000;
  console.log(`writer confirmed ${count} appends (fsync: interval) in ${seconds.toFixed(1)} s, then was killed with SIGKILL`);

  const log = await open();
  console.log('recovery:', JSON.stringify(log.recovery));
  let next = log.startOffset;
  let checked = 0;
  while (next < log.nextOffset) {
    for (const batch of log.read(next, { maxBytes: 1 << 20 })) {
      const order = JSON.parse(Buffer.from(batch.payload).toString()).order as number;
      if (order !== batch.baseOffset) throw new Error(`offset ${batch.baseOffset} holds order ${order}`);
      next = batch.baseOffset + batch.recordCount;
      checked++;
    }
  }
  const ok = log.nextOffset > confirmed;
  console.log(`log holds ${checked} intact batches in ${log.segments().length} segments; highest confirmed offset ${confirmed} ${ok ? 'is there' : 'IS MISSING'}`);
  await log.close();
  if (!ok) process.exitCode = 1;
  else console.log('nothing confirmed was lost.');
}

if (process.argv.includes('--writer')) await writer();
else await main();
