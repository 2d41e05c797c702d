// How close is the log's durable append rate to the raw disk?
//
// In one run, on one disk, for 100-byte records in batches of 1..1024 and each fsync policy:
//   raw:   a plain loop of positioned fs.writeSync of the payload + fs.fdatasyncSync (no sync
//          under `none`): the best a single thread can do with the same bytes, one at a time;
//   Ferry: WriteAheadLog.append of the same payload, sequential (await each) and pipelined
//          (DEPTH appends in flight, so group commit under `interval` can share one sync), and
//          coalesced: appendMany of COALESCE batches per call (one write for all of them), which
//          is how a partition actor folds concurrent small publishes into one system call.
// Timing is fixed-N wall clock (see harness.ts). This VM's disk has stalls of hundreds of ms, so
// each cell runs ROUNDS rounds of raw, sequential, pipelined (each N chosen to last targetMs) and
// reports the median run of each: a stall then spoils one round, not one side of the comparison.
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hrtime } from 'node:process';
import { WriteAheadLog, nodeFileSystem, realClock, type AppendInput, type FsyncPolicy } from '../wal/index.ts';
import { percentiles, timeFixedN, type Benchmark, type Timing, type TimingOptions, type Workload, pipelined } from './harness.ts';
import { formatFixed, formatRate, formatTable, machineInfo, writeResults } from './report.ts';

const RECORD_BYTES = 100;
const BATCH_SIZES = [1, 16, 128, 1024];
const POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'none'];
/** Appends kept in flight by the pipelined run: enough for group commit to amortise a sync. */
const DEPTH = 64;
/** Batches per appendMany call in the coalesced run. */
const COALESCE = 64;
/** The log's default, stated so the run does not depend on it changing. */
const SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * Bytes one measured run may write. Under `none` nothing is synced, so a run of a second at a few
 * GB/s would pass the kernel's dirty_background threshold (10% of memory here) and be throttled by
 * writeback: the raw loop would then measure the flusher, not the write path. Such runs are
 * then shorter than targetMs (the raw loop: about 0.2 s at 100 KB batches).
 */
const MAX_RUN_BYTES = 1024 ** 3;
/** Interleaved rounds per cell (odd, so the median is a real run). */
const ROUNDS = 3;
/** The aim: Ferry reaches at least this share of the raw loop (records/s, or MB/s under `none`). */
const AIM = 0.8;

/** Throughput of one measured run. MB are 10^6 bytes of payload (Ferry adds a 64-byte header per batch). */
interface RunResult extends Timing {
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly usPerAppend: number;
}

type Kind = 'raw' | 'sequential' | 'pipelined' | 'coalesced';
const KINDS: readonly Kind[] = ['raw', 'sequential', 'pipelined', 'coalesced'];

interface CellResult {
  readonly policy: FsyncPolicy;
  readonly batchSize: number;
  readonly payloadBytes: number;
  /** Every run, by kind, in round order; the fields below are the medians. */
  readonly runs: Record<Kind, RunResult[]>;
  readonly raw: RunResult;
  readonly ferrySequential: RunResult;
  readonly ferryPipelined: RunResult;
  readonly ferryCoalesced: RunResult;
  readonly ratioSequential: number;
  readonly ratioPipelined: number;
  readonly ratioCoalesced: number;
  /** Whether Ferry's better mode meets AIM against raw; undefined where there is no aim (`always`). */
  readonly aimMet: boolean | undefined;
}

function result(timing: Timing, batchSize: number): RunResult {
  const seconds = timing.ns / 1e9;
  return {
    ...timing,
    recordsPerSec: (timing.n * batchSize) / seconds,
    mbPerSec: (timing.n * batchSize * RECORD_BYTES) / 1e6 / seconds,
    usPerAppend: timing.ns / 1e3 / timing.n,
  };
}

function makePayload(bytes: number): Uint8Array {
  const payload = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (i * 2654435761) >>> 24; // not zeros, not compressible runs
  return payload;
}

/** The raw loop: one file, written at increasing positions, synced after each write unless `none`. */
function rawWriter(path: string, payload: Uint8Array, sync: boolean): { work: Workload; close(): void } {
  const fd = openSync(path, 'w'); // like the log: never O_APPEND, positions are explicit
  const len = payload.length;
  let position = 0;
  return {
    work(n) {
      for (let i = 0; i < n; i++) {
        if (writeSync(fd, payload, 0, len, position) !== len) throw new Error('short write');
        position += len;
        if (sync) fdatasyncSync(fd);
      }
    },
    close: () => closeSync(fd),
  };
}


async function measureRaw(dir: string, policy: FsyncPolicy, payload: Uint8Array, timing: TimingOptions): Promise<Timing> {
  mkdirSync(dir);
  const writer = rawWriter(join(dir, 'raw.bin'), payload, policy !== 'none');
  try {
    return await timeFixedN(writer.work, timing);
  } finally {
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureFerry(dir: string, policy: FsyncPolicy, batchSize: number, payload: Uint8Array, mode: 'sequential' | 'pipelined' | 'coalesced', timing: TimingOptions): Promise<Timing> {
  const log = await WriteAheadLog.open({ dir, fs: nodeFileSystem, clock: realClock, fsync: policy, segmentBytes: SEGMENT_BYTES });
  // One input object for every append: the question is the log's cost, not the producer's.
  const input: AppendInput = { recordCount: batchSize, payload, timestamp: Date.now() };
  const many = Array<AppendInput>(COALESCE).fill(input);
  const work: Workload =
    mode === 'coalesced'
      ? (n) => pipelined(() => log.appendMany(many), n, 4) // one operation = COALESCE appends
      : mode === 'pipelined'
        ? (n) => pipelined(() => log.append(input), n, DEPTH)
        : async (n) => {
            for (let i = 0; i < n; i++) await log.append(input);
          };
  try {
    return await timeFixedN(work, timing);
  } finally {
    await log.close(); // syncs what `none` left unsynced: outside the timed run
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Latency of one record-sized write + fdatasync at the end of a growing file: what `always` pays per append. */
function probeFdatasync(dir: string, samples = 300): { medianUs: number; p99Us: number } {
  const path = join(dir, 'probe.bin');
  const fd = openSync(path, 'w');
  const bytes = makePayload(RECORD_BYTES);
  const us: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const start = hrtime.bigint();
      writeSync(fd, bytes, 0, bytes.length, i * bytes.length);
      fdatasyncSync(fd);
      us.push(Number(hrtime.bigint() - start) / 1e3);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  const { median, p99 } = percentiles(us);
  return { medianUs: median, p99Us: p99 };
}

function list<T>(flag: string | undefined, all: readonly T[], parse: (s: string) => T): readonly T[] {
  if (flag === undefined) return all;
  const picked = flag.split(',').map(parse);
  for (const p of picked) if (!all.includes(p)) throw new Error(`unknown value ${String(p)}; expected one of ${all.join(', ')}`);
  return picked;
}

function medianRun(runs: readonly RunResult[]): RunResult {
  return [...runs].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[runs.length >> 1]!;
}

async function measureCell(base: string, policy: FsyncPolicy, batchSize: number, targetMs: number): Promise<CellResult> {
  const payload = makePayload(batchSize * RECORD_BYTES);
  const timing: TimingOptions = { warmupMs: 100, targetMs, maxN: Math.floor(MAX_RUN_BYTES / payload.length) };
  const runs: Record<Kind, RunResult[]> = { raw: [], sequential: [], pipelined: [], coalesced: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of KINDS) {
      const dir = join(base, `${policy}-${batchSize}-${kind}-${round}`);
      const perOp = kind === 'coalesced' ? COALESCE : 1;
      const opTiming = { ...timing, maxN: Math.max(1, Math.floor(timing.maxN / perOp)) };
      const t = kind === 'raw' ? await measureRaw(dir, policy, payload, timing) : await measureFerry(dir, policy, batchSize, payload, kind, opTiming);
      runs[kind].push(result(t, batchSize * perOp));
    }
  }
  const [raw, seq, pipe, many] = KINDS.map((k) => medianRun(runs[k])) as [RunResult, RunResult, RunResult, RunResult];
  const best = Math.max(seq.recordsPerSec, pipe.recordsPerSec, many.recordsPerSec) / raw.recordsPerSec;
  const spread = KINDS.map((k) => `${k} ${runs[k].map((r) => formatRate(r.recordsPerSec)).join('/')}`).join(', ');
  console.error(`  ${policy} x${batchSize} rec/s per round: ${spread}`);
  return {
    policy,
    batchSize,
    payloadBytes: payload.length,
    runs,
    raw,
    ferrySequential: seq,
    ferryPipelined: pipe,
    ferryCoalesced: many,
    ratioSequential: seq.recordsPerSec / raw.recordsPerSec,
    ratioPipelined: pipe.recordsPerSec / raw.recordsPerSec,
    ratioCoalesced: many.recordsPerSec / raw.recordsPerSec,
    // Same payload bytes per record on both sides, so the MB/s ratio equals the records/s ratio.
    aimMet: policy === 'always' ? undefined : best >= AIM,
  };
}

function printTable(cells: readonly CellResult[]): void {
  const rows = cells.map((c) => {
    const bestMb = Math.max(c.ferrySequential.mbPerSec, c.ferryPipelined.mbPerSec, c.ferryCoalesced.mbPerSec);
    const best = Math.max(c.ratioSequential, c.ratioPipelined, c.ratioCoalesced);
    const aim = c.aimMet === undefined ? '-' : `${c.aimMet ? 'met' : 'MISS'} ${best.toFixed(2)}`;
    return [c.policy, String(c.batchSize), formatRate(c.raw.recordsPerSec), formatFixed(c.raw.mbPerSec, 1), formatRate(c.ferrySequential.recordsPerSec), formatRate(c.ferryPipelined.recordsPerSec), formatRate(c.ferryCoalesced.recordsPerSec), formatFixed(bestMb, 1), formatFixed(c.ratioSequential, 2), formatFixed(c.ratioPipelined, 2), formatFixed(c.ratioCoalesced, 2), aim];
  });
  console.log(formatTable(['policy', 'batch', 'raw rec/s', 'raw MB/s', 'Ferry seq rec/s', `Ferry pipe${DEPTH} rec/s`, `Ferry many${COALESCE} rec/s`, 'Ferry MB/s', 'seq/raw', 'pipe/raw', 'many/raw', `aim >=${AIM}`], rows));
  console.log(`\nmedian of ${ROUNDS} rounds; records of ${RECORD_BYTES} B; MB/s = 10^6 payload bytes/s (Ferry MB/s: its better mode);`);
  console.log('aim: best Ferry mode vs raw, on records/s under interval and MB/s under none');
}

async function run(flags: ReadonlyMap<string, string>): Promise<void> {
  const policies = list(flags.get('policy'), POLICIES, (s) => s as FsyncPolicy);
  const batchSizes = list(flags.get('batch'), BATCH_SIZES, Number);
  const targetMs = Number(flags.get('target-ms') ?? 500);
  const root = flags.get('dir') ?? process.env['FERRY_BENCH_DIR'] ?? tmpdir();
  mkdirSync(root, { recursive: true });
  const base = mkdtempSync(join(root, 'ferry-bench-wal-append-'));
  const machine = machineInfo(root); // dated at the start of the run
  const cells: CellResult[] = [];
  let fdatasync: { medianUs: number; p99Us: number };
  try {
    fdatasync = probeFdatasync(base);
    console.log(`disk: ${base}\nwrite(${RECORD_BYTES} B) + fdatasync: median ${fdatasync.medianUs.toFixed(0)} us, p99 ${fdatasync.p99Us.toFixed(0)} us\n`);
    for (const policy of policies) {
      for (const batchSize of batchSizes) cells.push(await measureCell(base, policy, batchSize, targetMs));
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  printTable(cells);
  const path = writeResults('wal-append', {
    benchmark: 'wal-append',
    question: walAppend.question,
    machine,
    settings: { recordBytes: RECORD_BYTES, depth: DEPTH, coalesce: COALESCE, segmentBytes: SEGMENT_BYTES, rounds: ROUNDS, targetMs, warmupMs: 100, maxRunBytes: MAX_RUN_BYTES, aim: AIM, timing: 'fixed-N, process.hrtime.bigint, median of rounds' },
    fdatasync,
    cells,
  });
  console.log(`results: ${path}`);
}

/** The WAL append benchmark: Ferry's log against a raw write(+fdatasync) loop, per policy and batch size. */
export const walAppend: Benchmark = {
  name: 'wal-append',
  question: "How close is the log's durable append rate to the raw disk?",
  run,
};
