// The peers' comparison (`npm run bench:peers`): W1-W4 on Ferry and on each peer started by
// bench/peers/servers.ts, planned by bench/peers.ts; every cell runs the shared workload code.
import type { Scenario } from '../lib/scenario.ts';
import { runWorkload, type WorkloadParams } from '../workloads/run-workload.ts';

export const peerWorkloads: Scenario = {
  name: 'peers',
  question: 'W1-W4 on Ferry and on Redis Streams, RabbitMQ quorum queues and NATS JetStream, same workloads, one run',
  kind: 'scenario',
  plan: () => [], // planned by bench/peers.ts, which knows which servers started
  run: (params, dir) => runWorkload(params as unknown as WorkloadParams, dir),
};
