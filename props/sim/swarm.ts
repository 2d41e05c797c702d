// Swarm testing: each run draws its own fault rates and workload shape from its seed, so some
// runs are calm and some brutal, and rare combinations get their turn across many seeds.
import type { Random } from '../../wal/index.ts';
import type { NetworkFaults } from './network.ts';

/** A topic of the simulated workload. */
export interface SimTopic {
  readonly name: string;
  readonly partitions: number;
  readonly maxDeliveries: number;
}

/** Fault rates and workload shape of one run, all drawn from its seed. */
export interface Swarm {
  readonly topics: readonly SimTopic[];
  readonly fsync: 'always' | 'interval';
  /** Most operations in the safety phase. */
  readonly steps: number;
  /** Weights of fault operations in the workload (relative to 1 for each kind of work). */
  readonly crash: number;
  readonly powerShare: number;
  readonly diskFull: number;
  readonly clockJump: number;
  readonly lateTimers: number;
  readonly consumerDeath: number;
  /** Time that passes with every clock reading (ms): two readings in one turn differ, as on a real machine. */
  readonly clockCreep: number;
  /** A member closes gracefully (a deploy) as its slow handlers finish at the deadline. */
  readonly consumerClose: number;
  readonly producerRestart: number;
  readonly redrive: number;
  /** Probability per fdatasync. */
  readonly fsyncFailure: number;
  /** Handler outcomes: shares of nacks and of deliveries held (slow handlers). */
  readonly nack: number;
  readonly hold: number;
  readonly checkpointEvery: number;
  /** Bytes per checkpoint part: 64 splits every checkpoint into many records, which crashes tear. */
  readonly checkpointPartBytes: number;
  readonly network: Readonly<NetworkFaults>;
  /** Weight of the admin workload (group resets and deletes, topic deletes; props/sim/admin.ts): 0 in half the runs. */
  readonly admin: number;
  /**
   * A held delivery settled together with every other its consumer holds, in one turn (one settle
   * command of many nacks: their RETRY records go in one write). On in about one run of eight.
   */
  readonly settleTogether: boolean;
}

/** Draws a run's swarm from its own random stream. */
export function drawSwarm(r: Random): Swarm {
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  const calmNetwork = r.chance(0.3);
  return {
    topics: [
      { name: 't', partitions: 1 + r.int(3), maxDeliveries: 2 + r.int(3) },
      { name: 'u', partitions: 1 + r.int(2), maxDeliveries: 1 + r.int(2) },
    ],
    fsync: pick(['always', 'interval'] as const),
    steps: 120 + r.int(240),
    crash: pick([0, 0.01, 0.05]),
    powerShare: r.next(),
    diskFull: pick([0, 0, 0.03]),
    clockJump: pick([0, 0.01, 0.04]),
    lateTimers: pick([0, 0.03]),
    consumerDeath: pick([0, 0.02]),
    producerRestart: pick([0, 0.02]),
    redrive: pick([0, 0.03, 0.08]),
    fsyncFailure: pick([0, 0, 0.02]),
    nack: pick([0.05, 0.2, 0.4]),
    hold: pick([0, 0.1]),
    checkpointEvery: pick([5, 50, 10_000]),
    network: calmNetwork
      ? { drop: 0, duplicate: 0, delay: 0, maxDelayMs: 0 }
      : { drop: pick([0, 0.01, 0.05]), duplicate: pick([0, 0.02, 0.1]), delay: pick([0.1, 0.5]), maxDelayMs: pick([5, 50, 400]) },
    // Drawn last, so that the draws above (and so every earlier seed's swarm) are unchanged.
    checkpointPartBytes: pick([64, 1024 * 1024]),
    consumerClose: pick([0, 0.02, 0.05]),
    clockCreep: pick([0, 0.001, 0.05]),
    // From its own stream, drawn last: every draw above, and so the rest of each earlier seed's
    // run, is unchanged; a seed drawing 0 runs exactly the workload it ran before.
    admin: ((a) => [0, 0, 0.02, 0.05][a.int(4)]!)(r.fork('admin')),
    // Its own stream too, drawn after everything: a run drawing false is the run it was before,
    // and the value that means "on" is the one that leaves every seed props/simulator.test.ts replays as it was.
    settleTogether: r.fork('settleTogether').int(8) === 3,
  };
}
