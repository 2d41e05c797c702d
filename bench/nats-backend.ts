// `npm run bench:nats [-- --quick]`: issue 15's question, what Ferry's API costs on NATS
// JetStream. W1-W4 (the workload code of bench:peers) on one private nats-server (file storage,
// 127.0.0.1, a free port, stopped by PID at the end), through raw JetStream with its own client
// and through Ferry's NATS backend, in the same run, cells interleaved round by round, each
// repetition in a fresh process. Prints, per figure, the backend's share of raw JetStream's (1 = no
// cost; the issue aims at 0.8 or more of its throughput). A server that cannot start is reported
// as skipped. Measure on an idle machine.
import { parseCli } from './lib/cli.ts';
import { peerPlans, type System } from './peers/peer-plans.ts';
import { runComparison } from './peers/run-comparison.ts';
import { backendOverhead, renderOverhead } from './report/backend-overhead.ts';

const RAW = 'nats jetstream (file)';
const BACKEND = 'ferry on nats jetstream';

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2), 'nats');
  if (cli.names.length) throw new Error(`bench:nats takes no names (got ${cli.names.join(', ')}): it runs W1-W4 on raw JetStream and on Ferry's NATS backend`);
  await runComparison({
    cli,
    peers: ['nats'],
    plans: (running) =>
      peerPlans(
        cli.profile,
        running.flatMap((p): System[] => [
          { name: RAW, target: { target: 'nats', port: p.port } },
          { name: BACKEND, target: { target: 'ferry-nats', port: p.port } },
        ]),
      ),
    title: "Ferry's NATS backend against raw JetStream",
    questions: new Map([['peers', 'W1-W4 through raw JetStream and through Ferry on the same server, one run']]),
    script: 'bench:nats',
    after: (rows) => process.stdout.write(`\nThe backend's share of raw JetStream (1 = no cost; throughput aim >= 0.8):\n${renderOverhead(backendOverhead(rows, BACKEND, RAW), BACKEND, RAW)}\n`),
  });
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
