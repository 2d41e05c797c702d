// `npm run bench:peers [-- --quick]`: W1-W4 on Ferry and, in the same run, on Redis Streams
// (AOF always and everysec) and BullMQ on the first, a RabbitMQ quorum queue and NATS JetStream (file storage), each
// started privately by bench/peers/servers.ts (installed by bench/peers/install.sh). Same
// workload code, message count, payload, window and prefetch for every system; each cell
// `reps` times in a fresh process. A peer that cannot start is reported as skipped. Names pick
// peers: `-- redis-always nats`; the embedded pg-boss on PGlite runs only when named (`pgboss`).
import { hrtime } from 'node:process';
import { commandLine, parseCli, progress } from './lib/cli.ts';
import { describeMachine } from './lib/machine.ts';
import { ferryEntryEnv } from './lib/ferry-entry.ts';
import type { Profile } from './lib/profile.ts';
import { runCells } from './lib/run-cells.ts';
import type { CellParams, CellPlan } from './lib/scenario.ts';
import { PEERS, startPeers, type PeerName, type RunningPeer } from './peers/servers.ts';
import { emit } from './report/output.ts';
import { buildRows, type Skipped } from './report/rows.ts';
import { LIMITS } from './scenarios/index.ts';
import { PARTITIONS } from './scenarios/ferry-cells.ts';
import type { TargetParams } from './adapters/target.ts';
import type { WorkloadName, WorkloadParams } from './workloads/run-workload.ts';
import { ISSUE_11_SHAPE } from './workloads/shape.ts';

const CELL_TIMEOUT_MS = 300_000;
/** W3's offered rate in the comparison (issue 11's table). */
const PEER_RATE = 5000;

/** The workloads compared, with the label every system's row carries. */
const WORKLOADS: readonly { workload: WorkloadName; label: string }[] = [
  { workload: 'w1-each', label: 'W1 publish(), 1000 unconfirmed' },
  { workload: 'w1-many', label: 'W1 publishMany x100, 1000 unconfirmed' },
  { workload: 'w2', label: 'W2 consume + ack each, prefetch 1000' },
  { workload: 'w3', label: `W3 publish -> deliver at ${PEER_RATE} msg/s` },
  { workload: 'w4', label: 'W4 10% fail once, nack' },
];

/** A system measured: its row name and how its target opens. */
interface System {
  readonly name: string;
  readonly target: Omit<TargetParams, 'dir'>;
}

/**
 * Embedded peers (no server): run only when named (`npm run bench:peers -- pgboss`), since on a
 * 2-core machine pg-boss on PGlite moves tens to hundreds of messages per second, so the quick
 * profile's cells alone take minutes.
 */
const EMBEDDED = ['pgboss'] as const;
const EMBEDDED_SYSTEMS: Readonly<Record<(typeof EMBEDDED)[number], System>> = {
  pgboss: { name: 'pg-boss on PGlite (embedded)', target: { target: 'pgboss' } },
};

function systems(profile: Profile, peers: readonly RunningPeer[], embedded: readonly (typeof EMBEDDED)[number][]): System[] {
  const ferry = profile.threads.map((t): System => ({ name: `ferry threads=${t}`, target: { target: 'ferry', threads: t, fsync: 'interval', partitions: PARTITIONS } }));
  const others = peers.flatMap((p): System[] => {
    switch (p.name) {
      case 'redis-always':
        // BullMQ runs on the same Redis (AOF always), as a Node.js user would add it.
        return [
          { name: 'redis streams (AOF always)', target: { target: 'redis', port: p.port, appendfsync: 'always' } },
          { name: 'bullmq (redis AOF always)', target: { target: 'bullmq', port: p.port } },
        ];
      case 'redis-everysec':
        return [{ name: 'redis streams (AOF everysec)', target: { target: 'redis', port: p.port, appendfsync: 'everysec' } }];
      case 'rabbitmq':
        return [{ name: 'rabbitmq quorum queue', target: { target: 'rabbitmq', port: p.port } }];
      case 'nats':
        // Ferry's NATS backend on the same server: what the shared API costs over raw JetStream.
        return [
          { name: 'nats jetstream (file)', target: { target: 'nats', port: p.port } },
          { name: 'ferry on nats jetstream', target: { target: 'ferry-nats', port: p.port } },
        ];
    }
  });
  return [...ferry, ...others, ...embedded.map((e) => EMBEDDED_SYSTEMS[e])];
}

function plans(profile: Profile, all: readonly System[]): CellPlan[] {
  const shape = { ...ISSUE_11_SHAPE, n: profile.n, warmup: profile.warmup };
  return WORKLOADS.flatMap(({ workload, label }) =>
    all.map((s): CellPlan => {
      const params: WorkloadParams = { workload, target: s.target, shape, ...(workload === 'w3' ? { pace: { rate: PEER_RATE, warmupMs: profile.latencyWarmupMs, measureMs: profile.latencyMeasureMs } } : {}) };
      return { id: `peers: ${label} | ${s.name}`, scenario: 'peers', system: s.name, params: params as unknown as CellParams };
    }),
  );
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), 'peers');
  const unknown = cli.names.filter((n) => !PEERS.includes(n as PeerName) && !EMBEDDED.includes(n as (typeof EMBEDDED)[number]));
  if (unknown.length) throw new Error(`unknown peer(s) ${unknown.join(', ')}; known: ${[...PEERS, ...EMBEDDED].join(', ')}`);
  const named = cli.names.filter((n): n is PeerName => PEERS.includes(n as PeerName));
  const embedded = cli.names.filter((n): n is (typeof EMBEDDED)[number] => EMBEDDED.includes(n as (typeof EMBEDDED)[number]));
  const wanted: PeerName[] = cli.names.length === 0 ? [...PEERS] : named;
  const machine = describeMachine(cli.dataDir);
  const started = hrtime.bigint();
  if (wanted.length) process.stderr.write(`starting peers: ${wanted.join(', ')}\n`);
  const fleet = await startPeers(wanted, cli.dataDir);
  const stop = (): void => void fleet.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    for (const [, reason] of fleet.skipped) process.stderr.write(`skipped: ${reason}\n`);
    const all = systems(cli.profile, fleet.running, embedded);
    const skipped: Skipped[] = [...fleet.skipped].map(([name, reason]) => ({ scenario: 'peers', cell: `peers: all workloads | ${name}`, system: name, reason }));
    const cellPlans = [...LIMITS.flatMap((s) => s.plan(cli.profile)), ...plans(cli.profile, all)];
    process.stderr.write(`${cellPlans.length} cells x ${cli.profile.reps} repetitions (${cli.profile.name} profile)\n`);
    const ferry = ferryEntryEnv();
    process.stderr.write(`Ferry measured: ${ferry.measured}\n`);
    const cells = await runCells(cellPlans, { reps: cli.profile.reps, timeoutMs: CELL_TIMEOUT_MS, env: { ...process.env, FERRY_BENCH_DIR: cli.dataDir, ...ferry.env }, onProgress: progress });
    const rows = buildRows(cells, skipped, { profile: cli.profile.name, machine });
    const questions = new Map([...LIMITS.map((s): [string, string] => [s.name, s.question]), ['peers', 'W1-W4 on Ferry and its peers, same workloads, one run']]);
    emit(rows, cli, 'Ferry and its peers', questions, commandLine('bench:peers'));
    process.stderr.write(`wall time ${(Number(hrtime.bigint() - started) / 1e9).toFixed(0)} s on ${machine.cpu} x${machine.cores}, load ${machine.loadAvg.join(' ')}\n`);
    if (rows.some((r) => r.status === 'failed')) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stop);
    await fleet.stop();
  }
}

await main().catch((error: unknown) => {
  // A usage error or a failure of the harness itself (not of a cell: those are rows marked FAILED).
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
