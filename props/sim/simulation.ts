// The deterministic simulator: one seed drives a whole run of the real engine (in-thread runtime,
// real partition actors and logs) on the in-memory fault disk with a manual clock. Each run draws
// its own fault rates (swarm testing), runs a safety phase with faults on and a liveness phase
// with faults off, records every publish, delivery, ack, nack and dead letter, and checks them.
//
//   seed ─► swarm (fault rates, workload shape) ─► steps: publish | consume | advance | crash | ...
//        └► history ─► checks: no loss, nothing unexpected, acks never undone, key order,
//                       dead letters once with the right attempts, dedupe ─► violations, trace hash
import { createHash } from 'node:crypto';
import type { Consumer, Delivery } from '../../core/consumer.ts';
import type { Ferry } from '../../core/ferry.ts';
import type { Producer } from '../../core/producer.ts';
import { flush } from '../../core/testing.ts';
import { ManualClock, MemoryFileSystem, SeededRandom, type Random } from '../../wal/index.ts';
import { Ferry as FerryEngine } from '../../core/ferry.ts';

/** Fault rates and workload shape of one run, all drawn from its seed. */
export interface Swarm {
  readonly partitions: number;
  readonly fsync: 'always' | 'interval';
  readonly maxDeliveries: number;
  readonly steps: number;
  /** Probabilities per step. */
  readonly crash: number;
  readonly powerShare: number;
  readonly fsyncFailure: number;
  readonly diskFull: number;
  readonly clockJump: number;
  readonly consumerDeath: number;
  readonly producerRestart: number;
  readonly nack: number;
  readonly hold: number;
  readonly checkpointEvery: number;
}

export interface Violation {
  readonly check: string;
  readonly detail: string;
}

export interface SimulationResult {
  readonly seed: number;
  readonly swarm: Swarm;
  readonly violations: Violation[];
  readonly traceHash: string;
  readonly stats: Record<string, number>;
  /** The last events of the run, for a report (all of them with `keepTrace`). */
  readonly tail: string[];
}

function drawSwarm(r: Random): Swarm {
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  return {
    partitions: 1 + r.int(3),
    fsync: pick(['always', 'interval'] as const),
    maxDeliveries: 2 + r.int(3),
    steps: 80 + r.int(120),
    crash: pick([0, 0.01, 0.04]),
    powerShare: r.next(),
    fsyncFailure: pick([0, 0, 0.02]),
    diskFull: pick([0, 0, 0.03]),
    clockJump: pick([0.01, 0.05]),
    consumerDeath: pick([0, 0.02]),
    producerRestart: pick([0, 0.02]),
    nack: pick([0.05, 0.2, 0.4]),
    hold: pick([0, 0.1]),
    checkpointEvery: pick([5, 50, 10_000]),
  };
}

const ACK_TIMEOUT_MS = 1000;
const BACKOFF_MS = 50;

const GROUPS = [
  { name: 'plain', ordering: 'none' as const },
  { name: 'keyed', ordering: 'key' as const },
];
const KEYS = ['a', 'b', 'c', undefined];

interface Published {
  readonly key: string | undefined;
  partition: number;
  offset: number;
  confirmed: boolean;
}

interface GroupHistory {
  /** Values whose ack resolved (durable): never to be delivered again. */
  readonly acked: Set<number>;
  /**
   * Values with an ack issued, whatever came of it: a failed ack may still have taken effect
   * (written, then its fsync failed, and recovery kept what the page cache held).
   */
  readonly issued: Set<number>;
  /**
   * Messages surely waiting for a retry, with the virtual time until which they surely are: a
   * nack that succeeded at T means no redelivery before T + backoff, and a redelivery holds its
   * lease for ackTimeoutMs after that. (Leases alone prove nothing: a delivery may sit in a
   * consumer's buffer, unseen, while its lease runs out.) Later messages of its key must wait.
   */
  readonly retrying: Map<number, number>;
  /** Values delivered at least once. */
  readonly delivered: Map<number, number>;
  /** Dead letters seen for this group: value -> attempts. */
  readonly dead: Map<number, number>;
  /** A member died: what it was leased when it died is out of sight (it may expire into a dead letter). */
  lostMember: boolean;
  /** After a durable nack of attempt a, no delivery of the value may carry an attempt below a + 1. */
  readonly minAttempt: Map<number, number>;
}

/** Runs the simulation for `seed`; resolves with the violations found (none when the run is clean). */
export function runSimulation(seed: number, options: { readonly keepTrace?: boolean } = {}): Promise<SimulationResult> {
  return simulate(seed, options.keepTrace === true);
}

/** A run that could not go on: recovery refused the disk, say. It is reported, not thrown. */
class RunStopped extends Error {}

async function simulate(seed: number, keepTrace: boolean): Promise<SimulationResult> {
  const random = new SeededRandom(seed);
  const swarm = drawSwarm(random.fork('swarm'));
  const faults = random.fork('faults');
  const work = random.fork('workload');
  const fs = new MemoryFileSystem({ random: random.fork('disk'), syncs: 'manual' });
  const clock = new ManualClock(1_700_000_000_000);
  const trace: string[] = [];
  const violations: Violation[] = [];
  const stats: Record<string, number> = { published: 0, confirmed: 0, deliveries: 0, acks: 0, nacks: 0, crashes: 0, powerLosses: 0, deadLetters: 0 };
  const event = (line: string): void => void trace.push(line);
  const violate = (check: string, detail: string): void => {
    violations.push({ check, detail });
    event(`VIOLATION ${check}: ${detail}`);
  };

  const published = new Map<number, Published>();
  /** Message ids of confirmed publishes, and values that repeated one: never to be delivered. */
  const confirmedIds = new Map<string, { value: number; partition: number; offset: number }>();
  const repeats = new Set<number>();
  const groups = new Map<string, GroupHistory>(GROUPS.map((g) => [g.name, { acked: new Set<number>(), issued: new Set<number>(), retrying: new Map<number, number>(), delivered: new Map<number, number>(), dead: new Map<number, number>(), lostMember: false, minAttempt: new Map<number, number>() }]));
  let nextValue = 0;
  let incarnation = 0;

  interface Run {
    ferry: Ferry;
    producers: Producer[];
    consumers: { group: string; consumer: Consumer<number>; waiting: Promise<Delivery<number> | undefined> | undefined; held: Delivery<number>[] }[];
  }
  const open = async (): Promise<Run> => {
    incarnation++;
    for (let round = 0; ; round++) {
      try {
        const ferry = await driveDisk(
          FerryEngine.open({ dir: '/sim', fs: fs.processView(), clock, random: random.fork(`engine${incarnation}`), fsync: swarm.fsync, segmentBytes: 4096, limits: { checkpointEveryRecords: swarm.checkpointEvery } }),
        );
        await driveDisk(ferry.createTopic('t', { partitions: swarm.partitions, maxDeliveries: swarm.maxDeliveries, ackTimeoutMs: ACK_TIMEOUT_MS, backoff: { kind: 'fixed', delayMs: BACKOFF_MS }, dedupWindowMs: 3_600_000 }));
        return {
          ferry,
          producers: [ferry.producer({ id: 'p1' }), ferry.producer()],
          consumers: GROUPS.map((g) => ({ group: g.name, consumer: ferry.consumer<number>(g.name, { topics: ['t'], ordering: g.ordering, maxInFlight: 8, pollWaitMs: 200 }), waiting: undefined, held: [] })),
        };
      } catch (error) {
        // The disk was still failing (full, or a sync): heal it and try again.
        if ((error as { code?: string }).code === 'CORRUPT_SEGMENT' || round > 3) {
          violate('recovery', `the engine could not open its disk: ${(error as Error).message}`);
          throw new RunStopped();
        }
        fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
        fs.faults.fsyncFailure = 0;
      }
    }
  };
  /** Awaits `work`, releasing the disk's syncs while it is pending. */
  async function driveDisk<T>(pending: Promise<T>): Promise<T> {
    let done = false;
    const tracked = pending.finally(() => (done = true));
    tracked.catch(() => {});
    for (let i = 0; !done && i < 200; i++) {
      fs.releaseSyncs();
      await flush(2);
    }
    return tracked;
  }

  const poll = async (slot: Run['consumers'][number]): Promise<Delivery<number> | undefined> => {
    let got: Delivery<number> | undefined;
    let settled = false;
    slot.waiting ??= slot.consumer.next();
    void slot.waiting.then((d) => ((got = d), (settled = true)), () => (settled = true));
    await flush(3);
    if (!settled) return undefined;
    slot.waiting = undefined;
    if (!got) return undefined;
    const d = got;
    stats.deliveries!++;
    event(`deliver ${slot.group} v${d.value} p${d.partition}@${d.offset} a${d.attempt} k${d.key ?? "-"}`);
    const h = groups.get(slot.group)!;
    const p = published.get(d.value);
    if (!p) violate('nothing unexpected', `${slot.group} got value ${d.value}, never published`);
    if (repeats.has(d.value)) violate('dedupe', `${slot.group} got value ${d.value}, which repeated a confirmed message id`);
    if (h.acked.has(d.value)) violate('acks are never undone', `${slot.group} got value ${d.value} again after its ack was confirmed`);
    if (slot.group === 'keyed' && p?.key !== undefined) {
      // Key order: an earlier message of the same key (same partition, so log order) must not be
      // in flight (delivered, not settled), nor confirmed and never delivered yet.
      for (const [v, q] of published) {
        if (v === d.value || q.key !== p.key || !q.confirmed || q.partition !== d.partition || q.offset >= d.offset) continue;
        if ((h.retrying.get(v) ?? Number.NEGATIVE_INFINITY) > clock.now()) violate('key order', `keyed got ${d.value} (@${d.offset}) while ${v} (@${q.offset}, key ${p.key}) was waiting for its retry`);
        else if (!h.delivered.has(v) && !h.lostMember) violate('key order', `keyed got ${d.value} (@${d.offset}) before ${v} (@${q.offset}, key ${p.key}) was ever delivered`);
      }
    }
    h.retrying.delete(d.value);
    if (d.attempt < (h.minAttempt.get(d.value) ?? 0)) violate('attempt counts are durable', `${slot.group} got value ${d.value} with attempt ${d.attempt} after a durable nack of attempt ${h.minAttempt.get(d.value)! - 1}`);
    h.delivered.set(d.value, (h.delivered.get(d.value) ?? 0) + 1);
    return d;
  };

  const settle = (group: string, d: Delivery<number>, outcome: 'ack' | 'nack'): void => {
    const h = groups.get(group)!;
    event(`${outcome} ${group} v${d.value} a${d.attempt}`);
    // Only an ack settles a message for the no-loss check: a dead-lettered one must show up in
    // the dead-letter topic.

    if (outcome === 'ack') h.issued.add(d.value);
    if (outcome === 'ack') {
      h.retrying.delete(d.value);
      stats.acks!++;
      d.ack().then(
        () => {
          h.acked.add(d.value);
          event(`acked ${group} v${d.value}`);
        },
        (e: unknown) => event(`ack failed ${group} v${d.value} ${(e as { code?: string }).code}`),
      );
    } else {
      stats.nacks!++;
      const at = clock.now();
      const seen = h.delivered.get(d.value);
      d.nack({ error: `e${d.attempt}` }).then(
        () => {
          // Unless its retry was seen meanwhile (the nack's durability can come after it).
          if (d.attempt < swarm.maxDeliveries && h.delivered.get(d.value) === seen) h.retrying.set(d.value, at + BACKOFF_MS + ACK_TIMEOUT_MS);
          h.minAttempt.set(d.value, Math.max(h.minAttempt.get(d.value) ?? 0, d.attempt + 1));
        },
        () => {},
      );
    }
  };

  const finish = (): SimulationResult => {
    const traceHash = createHash('sha256').update(trace.join('\n')).digest('hex').slice(0, 16);
    return { seed, swarm, violations, traceHash, stats, tail: keepTrace ? trace : trace.slice(-20) };
  };
  try {
    await phases();
  } catch (error) {
    if (!(error instanceof RunStopped)) throw error;
  }
  return finish();

  async function phases(): Promise<void> {
    let run = await open();
    // --- safety phase: faults on --------------------------------------------------------------
    for (let step = 0; step < swarm.steps; step++) {
      const roll = work.next();
      if (roll < 0.3) {
        const producer = run.producers[work.int(run.producers.length)]!;
        const count = 1 + work.int(3);
        const values = Array.from({ length: count }, () => nextValue++);
        const ids: (string | undefined)[] = [];
        const messages = values.map((value) => {
          // Some messages carry an id; some repeat the id of a confirmed one (within the window).
          const known = [...confirmedIds.keys()];
          const repeat = known.length > 0 && work.chance(0.1) ? known[work.int(known.length)]! : undefined;
          const id = repeat ?? (work.chance(0.3) ? `m${value}` : undefined);
          const key = repeat !== undefined ? published.get(confirmedIds.get(repeat)!.value)!.key : KEYS[work.int(KEYS.length)];
          ids.push(id);
          if (repeat !== undefined) repeats.add(value);
          else published.set(value, { key, partition: -1, offset: -1, confirmed: false });
          return { value, ...(key === undefined ? {} : { key }), ...(id === undefined ? {} : { id }), ...(repeat === undefined && work.chance(0.1) ? { delayMs: 30 } : {}) };
        });
        stats.published! += count;
        producer.publishMany('t', messages).then(
          (results) =>
            results.forEach((r, i) => {
              const id = ids[i];
              if (repeats.has(values[i]!)) {
                const original = confirmedIds.get(id!)!;
                if (!r.duplicate || r.offset !== original.offset || r.partition !== original.partition) violate('dedupe', `value ${values[i]} repeated id ${id} (v${original.value} at p${original.partition}@${original.offset}) but got ${JSON.stringify(r)}`);
                event(`duplicate v${values[i]} of ${id}`);
                return;
              }
              const p = published.get(values[i]!)!;
              Object.assign(p, { partition: r.partition, offset: r.offset, confirmed: true });
              if (id !== undefined && !r.duplicate) confirmedIds.set(id, { value: values[i]!, partition: r.partition, offset: r.offset });
              stats.confirmed!++;
              event(`confirmed v${values[i]} p${r.partition}@${r.offset}`);
            }),
          () => {},
        );
      } else if (roll < 0.7) {
        const slot = run.consumers[work.int(run.consumers.length)]!;
        const d = await poll(slot);
        if (d) {
          const r = work.next();
          if (r < swarm.hold) {
            slot.held.push(d);
            event(`hold ${slot.group} v${d.value}`);
          }
          else settle(slot.group, d, r < swarm.hold + swarm.nack ? 'nack' : 'ack');
        }
      } else if (roll < 0.8) {
        fs.releaseSyncs(1 + work.int(3), work.chance(0.5));
      } else if (roll < 0.85) {
        const ms = faults.chance(swarm.clockJump) ? 5000 : 60;
        clock.advance(ms);
        event(`advance ${ms}`);
      } else if (roll < 0.9 && run.consumers.some((c) => c.held.length > 0)) {
        const slot = run.consumers.find((c) => c.held.length > 0)!;
        settle(slot.group, slot.held.shift()!, 'ack'); // maybe long after its lease ended: may be stale
      }
      await flush(2);

      if (faults.chance(swarm.consumerDeath)) {
        // A consumer dies holding leases: abandoned, not closed; a new member takes its place.
        const i = faults.int(run.consumers.length);
        const g = GROUPS[i]!;
        run.consumers[i]!.consumer.abandon();
        groups.get(g.name)!.lostMember = true;
        run.consumers[i] = { group: g.name, consumer: run.ferry.consumer<number>(g.name, { topics: ['t'], ordering: g.ordering, maxInFlight: 8, pollWaitMs: 200 }), waiting: undefined, held: [] };
        event(`consumer ${g.name} died`);
      }
      if (faults.chance(swarm.producerRestart)) {
        run.producers[0] = run.ferry.producer({ id: 'p1' }); // fences the old one
        event('producer p1 restarted');
      }
      fs.faults.fsyncFailure = swarm.fsyncFailure;
      if (faults.chance(swarm.diskFull)) fs.faults.capacityBytes = fs.faults.capacityBytes === Number.POSITIVE_INFINITY ? 0 : Number.POSITIVE_INFINITY;
      if (faults.chance(swarm.crash)) {
        const power = faults.next() < swarm.powerShare;
        fs.crash(power ? 'power' : 'process');
        stats.crashes!++;
        if (power) stats.powerLosses!++;
        event(`crash ${power ? 'power' : 'process'}`);
        fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
        fs.faults.fsyncFailure = 0;
        run = await open();
      }
    }

    // --- liveness phase: faults off, heal, restart, drain -----------------------------------
    fs.faults.fsyncFailure = 0;
    fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
    fs.crash('process');
    run = await open();
    const ops = run.ferry.consumer<number>('ops', { topics: ['t.dlq'], maxInFlight: 64, pollWaitMs: 200 });
    const opsSlot = { group: 'ops', consumer: ops, waiting: undefined as Promise<Delivery<number> | undefined> | undefined, held: [] as Delivery<number>[] };
    const unsettled = (): string[] => {
      const out: string[] = [];
      for (const [value, p] of published) {
        // Confirmed messages, and any a group was shown: one delivered must never vanish (a
        // partition must not deliver beyond what is durable).
        if (!p.confirmed && ![...groups.values()].some((h) => h.delivered.has(value))) continue;
        // Settled: an ack issued (whatever its outcome: the consumer acked it) or a dead letter.
        for (const [name, h] of groups) if (!h.issued.has(value) && !h.dead.has(value)) out.push(`${name}:${value}`);
      }
      return out;
    };
    for (let round = 0; round < 600 && unsettled().length > 0; round++) {
      let progress = false;
      for (const slot of run.consumers) {
        for (const d of slot.held.splice(0)) settle(slot.group, d, 'ack');
        const d = await poll(slot);
        if (d) {
          settle(slot.group, d, 'ack');
          progress = true;
        }
      }
      let letter: Delivery<number> | undefined;
      opsSlot.waiting ??= ops.next();
      void opsSlot.waiting.then((d) => (letter = d), () => {});
      await flush(3);
      if (letter) {
        opsSlot.waiting = undefined;
        const info = letter.deadLetter!;
        const h = groups.get(info.group);
        stats.deadLetters!++;
        event(`dead ${info.group} v${letter.value} a${info.attempts}`);
        if (!h) violate('dead letters', `letter for unknown group ${info.group}`);
        else {
          if (h.dead.has(letter.value)) violate('dead letters once', `${info.group} value ${letter.value} dead-lettered twice`);
          if (info.attempts !== swarm.maxDeliveries) violate('dead letters after maxDeliveries', `${info.group} value ${letter.value} dead after ${info.attempts} attempts, not ${swarm.maxDeliveries}`);
          const p = published.get(letter.value);
          if (p?.confirmed && (p.partition !== info.partition || p.offset !== info.offset)) violate('dead letter origin', `value ${letter.value} from p${info.partition}@${info.offset}, published at p${p.partition}@${p.offset}`);
          h.dead.set(letter.value, info.attempts);
        }
        void letter.ack();
        progress = true;
      }
      fs.releaseSyncs();
      if (!progress) clock.advance(500);
      await flush(2);
    }
    const left = unsettled();
    if (left.length > 0) violate('no loss (liveness)', `confirmed but never acked or dead-lettered: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ` and ${left.length - 10} more` : ''}`);
    await driveDisk(run.ferry.close()).catch(() => {});
  }
}
