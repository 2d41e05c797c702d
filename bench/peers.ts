// `npm run bench:peers [-- --quick]`: W1-W4 on Ferry and, in the same run, on Redis Streams
// (AOF always and everysec) and BullMQ on the first, a RabbitMQ quorum queue and NATS JetStream (file storage), each
// started privately by bench/peers/servers.ts (installed by bench/peers/install.sh). Same
// workload code, message count, payload, window and prefetch for every system; each cell
// `reps` times in a fresh process. A peer that cannot start is reported as skipped. Names pick
// peers: `-- redis-always nats`; the embedded pg-boss on PGlite runs only when named (`pgboss`).
import { parseCli } from './lib/cli.ts';
import type { Profile } from './lib/profile.ts';
import { PEERS, type PeerName, type RunningPeer } from './peers/servers.ts';
import { runComparison } from './peers/run-comparison.ts';
import { LIMITS } from './scenarios/index.ts';
import { PARTITIONS } from './scenarios/ferry-cells.ts';
import { peerPlans as plans, type System } from './peers/peer-plans.ts';

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


async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), 'peers');
  const unknown = cli.names.filter((n) => !PEERS.includes(n as PeerName) && !EMBEDDED.includes(n as (typeof EMBEDDED)[number]));
  if (unknown.length) throw new Error(`unknown peer(s) ${unknown.join(', ')}; known: ${[...PEERS, ...EMBEDDED].join(', ')}`);
  const named = cli.names.filter((n): n is PeerName => PEERS.includes(n as PeerName));
  const embedded = cli.names.filter((n): n is (typeof EMBEDDED)[number] => EMBEDDED.includes(n as (typeof EMBEDDED)[number]));
  const wanted: PeerName[] = cli.names.length === 0 ? [...PEERS] : named;
  const questions = new Map([...LIMITS.map((s): [string, string] => [s.name, s.question]), ['peers', 'W1-W4 on Ferry and its peers, same workloads, one run']]);
  await runComparison({
    cli,
    peers: wanted,
    plans: (running) => [...LIMITS.flatMap((s) => s.plan(cli.profile)), ...plans(cli.profile, systems(cli.profile, running, embedded))],
    title: 'Ferry and its peers',
    questions,
    script: 'bench:peers',
  });
}

await main().catch((error: unknown) => {
  // A usage error or a failure of the harness itself (not of a cell: those are rows marked FAILED).
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
