// The deterministic simulator: one seed drives a whole run of the real engine (its partition
// actors, logs, producers and consumers) on the in-memory fault disk, over a simulated network
// (network.ts), with a manual clock. The run's swarm (swarm.ts) sets its fault rates; its workload
// (workload.ts) is a list of operations from fast-check, faults included, so a failure shrinks.
// A safety phase runs the operations with faults on; a liveness phase heals everything, checks
// that recovering the disk twice gives the same state, and drains every group. The history
// (history.ts) checks each guarantee.
//
//   seed ─► swarm ─► ops ─► engine on fault disk + faulty network ─► history ─► violations, trace hash
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Consumer, Delivery } from '../../core/consumer.ts';
import { Ferry } from '../../core/ferry.ts';
import { LocalRuntime } from '../../core/local-runtime.ts';
import type { Producer } from '../../core/producer.ts';
import { flush } from '../../test-support/memory-ferry.ts';
import { ManualClock, SeededRandom, type Random } from '../../wal/index.ts';
import { MemoryFileSystem } from '../../wal/fault-disk.ts';
import { chooseFlip } from './bit-flip.ts';
import { driveDisk, healDisk } from './disk-faults.ts';
import { History, identityOf, type Violation } from './history.ts';
import { HEALTHY_NETWORK, SimulatedNetwork, type NetworkFaults } from './network.ts';
import { drawSwarm, type Swarm } from './swarm.ts';
import { GROUPS, KEYS, NOT_IDEMPOTENT, sampleWorkload, type Op } from './workload.ts';
import { TxWorkload } from './transactions.ts';
import { AdminWorkload } from './admin.ts';

export type { Violation } from './history.ts';
export type { Swarm } from './swarm.ts';

export interface SimulationResult {
  readonly seed: number;
  readonly swarm: Swarm;
  readonly ops: number;
  /** Operations run before the first violation stopped the run (all of them if none did, or if it came after). */
  readonly opsRun: number;
  readonly violations: Violation[];
  readonly traceHash: string;
  readonly stats: Record<string, number>;
  /** The last events of the run, for a report (all of them with `keepTrace`). */
  readonly tail: string[];
}

export interface SimulationOptions {
  readonly keepTrace?: boolean;
  /** The operations to run instead of the seed's own (fast-check passes shrunk ones). */
  readonly ops?: readonly Op[];
  /**
   * Stop at the first violation instead of running the rest (shrinking only needs to know that a
   * candidate fails; the report of the shrunk run runs it whole).
   */
  readonly stopAtFirstViolation?: boolean;
}

const ACK_TIMEOUT_MS = 1000;
const BACKOFF_MS = 50;
const DELAY_MS = 30;
const POLL_WAIT_MS = 200;
/** The deadline a deploy gives its consumer's handlers. */
const CLOSE_DEADLINE_MS = 250;
/** Rounds in which nothing comes (500 ms of virtual time each) before the letters count as all read. */
const LETTERS_QUIET_ROUNDS = 10;

/** The swarm of a seed, and the workload fast-check draws for it. */
export function scenario(seed: number): { swarm: Swarm; ops: Op[] } {
  const swarm = drawSwarm(new SeededRandom(seed).fork('swarm'));
  return { swarm, ops: sampleWorkload(swarm, seed) };
}

/** Runs the simulation for `seed`; resolves with the violations found (none when the run is clean). */
export async function runSimulation(seed: number, options: SimulationOptions = {}): Promise<SimulationResult> {
  const { swarm, ops: drawn } = scenario(seed);
  const ops = options.ops ?? drawn;
  const sim = new Simulation(seed, swarm, options.stopAtFirstViolation ?? false);
  try {
    await sim.safety(ops);
    await sim.liveness();
  } catch (error) {
    if (!(error instanceof RunStopped)) throw error;
  }
  const traceHash = createHash('sha256').update(sim.trace.join('\n')).digest('hex').slice(0, 16);
  return { seed, swarm, ops: ops.length, opsRun: sim.opsRun, violations: sim.history.violations, traceHash, stats: sim.stats(), tail: options.keepTrace ? sim.trace : sim.trace.slice(-25) };
}

/** A run that could not go on: recovery refused the disk, say. It is reported, not thrown. */
class RunStopped extends Error {}

interface Slot {
  readonly group: (typeof GROUPS)[number];
  readonly consumer: Consumer<number>;
  waiting: Promise<Delivery<number> | undefined> | undefined;
}

interface Held {
  readonly group: string;
  /** The member whose handler holds it. */
  readonly consumer: Consumer<number>;
  readonly delivery: Delivery<number>;
  /** Deliveries of the message the group had seen when this one arrived. */
  readonly seen: number;
}

interface Run {
  readonly ferry: Ferry;
  readonly runtime: LocalRuntime;
  readonly producers: Producer[];
  readonly slots: Slot[];
}

class Simulation {
  readonly trace: string[] = [];
  readonly history: History;
  readonly #swarm: Swarm;
  readonly #random: SeededRandom;
  readonly #choices: Random;
  readonly #fs: MemoryFileSystem;
  readonly #clock = new ManualClock(1_700_000_000_000);
  readonly #network: NetworkFaults;
  readonly #networkRandom: Random;
  readonly #networks: SimulatedNetwork[] = [];
  readonly #counts: Record<string, number> = { published: 0, confirmed: 0, deliveries: 0, acks: 0, nacks: 0, crashes: 0, powerLosses: 0, deadLetters: 0, redrives: 0, staleSettles: 0, bitFlips: 0, earlyRepeats: 0 };
  readonly #held: Held[] = [];
  /** Failed syncs when the engine last opened: one since then fails its log until a reopen. */
  #failedSyncsAtOpen = 0;
  /** Ids of messages published and not yet confirmed (nor failed), with the value and key they went with. */
  readonly #idsOnTheirWay = new Map<string, { value: number; key: string | undefined }>();
  #nextValue = 0;
  #incarnation = 0;
  #run: Run | undefined;
  /** The transactional workload and its checks (issue 13). */
  readonly #tx: TxWorkload;
  /** Group resets and deletes, topic deletes (issue 12). */
  readonly #admin: AdminWorkload;

  readonly #stopAtFirstViolation: boolean;

  constructor(seed: number, swarm: Swarm, stopAtFirstViolation: boolean) {
    this.#stopAtFirstViolation = stopAtFirstViolation;
    this.#swarm = swarm;
    this.#random = new SeededRandom(seed);
    this.#choices = this.#random.fork('choices');
    this.#networkRandom = this.#random.fork('network');
    this.#fs = new MemoryFileSystem({ random: this.#random.fork('disk'), syncs: 'manual' });
    this.#clock.creepMs = swarm.clockCreep;
    this.#network = { ...swarm.network };
    this.history = new History(new Map(swarm.topics.map((t) => [t.name, t.maxDeliveries])), (line) => this.#event(line));
    this.#tx = new TxWorkload((check, detail) => this.history.violate(check, detail), (line) => this.#event(line));
    this.#admin = new AdminWorkload({ clock: this.#clock, violate: (check, detail) => this.history.violate(check, detail), event: (line) => this.#event(line), drive: (p) => this.#driveDisk(p), quiesce: () => this.#quiesce(), maxDelayMs: swarm.network.maxDelayMs, mayDuplicate: swarm.network.duplicate > 0 });
  }

  #event(line: string): void {
    this.trace.push(`${this.#clock.now() - 1_700_000_000_000} ${line}`);
  }

  stats(): Record<string, number> {
    const net = { dropped: 0, duplicated: 0, delayed: 0, timedOut: 0 };
    for (const n of this.#networks) for (const k of Object.keys(net) as (keyof typeof net)[]) net[k] += n.stats[k];
    return { ...this.#counts, ...net, failedSyncs: this.#fs.stats.failedSyncs, ...this.#tx.counts, ...this.#admin.counts };
  }

  // --- engine lifecycle ---------------------------------------------------------------------

  /** Opens the engine (after a crash: recovers), healing the disk while it will not open. */
  async #open(options: { readonly corruptionExpected?: boolean } = {}): Promise<Run> {
    this.#incarnation++;
    this.#failedSyncsAtOpen = this.#fs.stats.failedSyncs;
    for (let round = 0; ; round++) {
      let runtime: LocalRuntime | undefined;
      let opened: Ferry | undefined;
      try {
        const ferry = (opened = await this.#driveDisk(
          Ferry.open(
            // threads: 1 only routes through the factory: the partitions run here, behind the simulated network.
            { dir: '/sim', threads: 1, fs: this.#fs.processView(), clock: this.#clock, random: this.#random.fork(`engine${this.#incarnation}`), fsync: this.#swarm.fsync, segmentBytes: 4096, limits: { checkpointEveryRecords: this.#swarm.checkpointEvery, checkpointPartBytes: this.#swarm.checkpointPartBytes }, resolveInDoubt: this.#tx.resolveInDoubt, transactionTimeoutMs: 5000 },
            (o) => {
              runtime = new LocalRuntime(o.local);
              const network = new SimulatedNetwork(runtime, this.#clock, this.#networkRandom, this.#network, {
                lostDeliveries: (topic, partition, group, messages) => this.history.unseen(group, messages.map((m) => identityOf(topic, partition, m.offset))),
              });
              this.#networks.push(network);
              return network;
            },
          ),
        ));
        for (const t of this.#swarm.topics) {
          await this.#driveDisk(ferry.createTopic(t.name, { partitions: t.partitions, maxDeliveries: t.maxDeliveries, ackTimeoutMs: ACK_TIMEOUT_MS, backoff: { kind: 'fixed', delayMs: BACKOFF_MS }, dedupWindowMs: 3_600_000 }));
        }
        await this.#tx.opened(ferry, (p) => this.#driveDisk(p));
        await this.#admin.opened(ferry);
        return { ferry, runtime: runtime!, producers: [ferry.producer({ id: 'p1' }), ferry.producer(), ferry.producer({ idempotent: false })], slots: GROUPS.map((g) => this.#slot(ferry, g)) };
      } catch (error) {
        // The disk was still failing (full, or a sync): heal it and try again, after closing an
        // engine that opened but could not create its topics (it holds the directory's lock).
        if (opened) await this.#driveDisk(opened.close({ timeoutMs: 0 })).catch(() => {});
        if (options.corruptionExpected && (error as { code?: string }).code === 'CORRUPT_SEGMENT') throw error;
        if ((error as { code?: string }).code === 'CORRUPT_SEGMENT' || round > 3) {
          this.history.violate('recovery', `the engine could not open its disk: ${(error as Error).message}`);
          throw new RunStopped();
        }
        this.#healDisk();
      }
    }
  }

  #slot(ferry: Ferry, group: (typeof GROUPS)[number]): Slot {
    return { group, consumer: ferry.consumer<number>(group.name, { topics: [...group.topics], ordering: group.ordering, maxInFlight: 8, pollWaitMs: POLL_WAIT_MS }), waiting: undefined };
  }

  #healDisk(): void {
    healDisk(this.#fs);
  }

  /** Lets the engine's own work finish: releases syncs until none come for a few turns. */
  async #quiesce(): Promise<void> {
    for (let idle = 0, i = 0; idle < 3 && i < 100; i++) {
      idle = this.#fs.releaseSyncs() === 0 ? idle + 1 : 0;
      await flush(3);
    }
  }

  /** Awaits `pending`, releasing the disk's syncs while it is pending. */
  #driveDisk<T>(pending: Promise<T>): Promise<T> {
    return driveDisk(this.#fs, pending, 2, 200);
  }

  /** The machine crashes: the disk as `kind` leaves it, and the process's clients gone with it. */
  #crashDisk(kind: 'process' | 'power'): void {
    for (const n of this.#networks) n.sever();
    this.#fs.crash(kind);
    this.#tx.crashed();
    this.#admin.crashed();
    this.history.memberLost(this.#clock.now());
  }

  async #crash(power: boolean): Promise<void> {
    this.#crashDisk(power ? 'power' : 'process');
    this.#counts.crashes!++;
    if (power) this.#counts.powerLosses!++;
    this.#event(`crash ${power ? 'power' : 'process'}`);
    this.#held.length = 0; // their consumers died with the process
    this.#healDisk();
    this.#run = await this.#open();
  }

  // --- the work -----------------------------------------------------------------------------

  async #poll(slot: Slot): Promise<Delivery<number> | undefined> {
    let got: Delivery<number> | undefined;
    let settled = false;
    // Recorded when next() hands it out (its lease starts then), not when this step looks: a
    // delivery taken between two steps may run out its lease before the next one.
    if (!slot.waiting) {
      const calledAt = this.#clock.monotonicNow(); // a handler takes what next() returns no earlier
      slot.waiting = slot.consumer.next().then((d) => {
        if (d) {
          this.#counts.deliveries!++;
          this.history.delivered(slot.group.name, d, this.#clock.now(), { calledAt, now: this.#clock.monotonicNow() }, ACK_TIMEOUT_MS);
        }
        return d;
      });
    }
    void slot.waiting.then((d) => ((got = d), (settled = true)), () => (settled = true));
    await flush(3);
    if (!settled) return undefined;
    slot.waiting = undefined;
    return got;
  }

  #settle(group: string, d: Delivery<number>, outcome: 'ack' | 'nack' | 'extend', seen = this.history.deliveriesSeen(group, d), mustKeep = false): void {
    // A settle through a delivery the group has seen redelivered since must fail: its lease is gone.
    const stale = this.history.superseded(group, d, seen);
    const expectFailure = (what: string) => () => {
      if (stale) this.history.violate('stale deliveries cannot settle', `${what} of ${group} ${identityOf(d.topic, d.partition, d.offset)} a${d.attempt} succeeded after a newer delivery of it`);
    };
    this.#event(`${outcome} ${group} v${d.value} a${d.attempt}${stale ? ' (stale)' : ''}`);
    if (stale) this.#counts.staleSettles!++;
    if (outcome === 'extend') {
      d.extend(ACK_TIMEOUT_MS).then(expectFailure('extend'), () => {});
    } else if (outcome === 'ack') {
      if (!stale) this.history.ackIssued(group, d);
      this.#counts.acks!++;
      d.ack().then(
        () => {
          expectFailure('ack')();
          if (!stale) this.history.ackResolved(group, d);
          this.#event(`acked ${group} v${d.value}`);
        },
        (e: unknown) => {
          const code = (e as { code?: string }).code;
          this.#event(`ack failed ${group} v${d.value} ${code}`);
          if (mustKeep && code === 'STALE_DELIVERY') this.history.violate('a release never overtakes an ack', `${group} ${identityOf(d.topic, d.partition, d.offset)} a${d.attempt}: its ack, given before the closing consumer let go of its leases, was refused: ${(e as Error).message}`);
        },
      );
    } else {
      this.#counts.nacks!++;
      this.history.nackIssued(group, d);
      const at = this.#clock.now();
      const count = this.history.deliveriesSeen(group, d);
      d.nack({ error: `e${d.attempt}` }).then(
        () => {
          expectFailure('nack')();
          if (!stale) this.history.nackResolved(group, d, at, count, BACKOFF_MS, ACK_TIMEOUT_MS);
        },
        () => {},
      );
    }
  }

  #publish(op: Extract<Op, { op: 'publish' }>, run: Run): void {
    const topic = this.#swarm.topics[op.topic]!.name;
    const producer = run.producers[op.producer]!;
    const known = this.history.confirmedIds().filter((id) => id.startsWith(`${topic}:`));
    const onTheirWay = [...this.#idsOnTheirWay.keys()].filter((id) => id.startsWith(`${topic}:`));
    const sent = op.messages.map((drawn) => {
      const value = this.#nextValue++;
      // Without idempotence, only an id keeps a retried message from being stored twice.
      const spec = op.producer === NOT_IDEMPOTENT && drawn.id === 'none' ? { ...drawn, id: 'fresh' as const } : drawn;
      // A repeat takes the id (and key, which picks the partition) of a confirmed message; an
      // early one, of a message still on its way.
      const repeatOf = spec.id === 'repeat' && known.length > 0 ? known[this.#choices.int(known.length)]! : undefined;
      const earlyId = spec.id === 'early' && onTheirWay.length > 0 ? onTheirWay[this.#choices.int(onTheirWay.length)]! : undefined;
      const early = earlyId === undefined ? undefined : { id: earlyId, ...this.#idsOnTheirWay.get(earlyId)! };
      if (early) this.#counts.earlyRepeats!++;
      const id = repeatOf ?? earlyId ?? (spec.id === 'none' ? undefined : `${topic}:m${value}`);
      const key = repeatOf !== undefined ? this.history.keyOfId(repeatOf) : early ? early.key : KEYS[spec.key];
      const delayMs = spec.delayed && repeatOf === undefined && !early ? DELAY_MS : 0;
      this.history.published(value, { topic, key, calledAt: this.#clock.now(), delayMs, repeatOf, ...(early ? { early: { id: early.id, original: early.value } } : {}) });
      if (id !== undefined && repeatOf === undefined && !early) this.#idsOnTheirWay.set(id, { value, key });
      return { value, id, message: { value, ...(key === undefined ? {} : { key }), ...(id === undefined ? {} : { id }), ...(delayMs > 0 ? { delayMs } : {}) } };
    });
    const arrived = (): void => sent.forEach((s) => this.#idsOnTheirWay.get(s.id!)?.value === s.value && this.#idsOnTheirWay.delete(s.id!));
    this.#counts.published! += sent.length;
    this.#event(`publish p${op.producer} ${topic} ${sent.map((s) => `v${s.value}${s.id === undefined ? '' : `(${s.id})`}`).join(' ')}`);
    producer.publishMany(topic, sent.map((s) => s.message)).then(
      (results) => {
        arrived();
        results.forEach((r, i) => {
          this.#counts.confirmed!++;
          this.history.confirmed(sent[i]!.value, sent[i]!.id, r);
        });
      },
      (e: unknown) => {
        arrived();
        this.#event(`publish failed ${sent.map((s) => `v${s.value}`).join(' ')} ${(e as { code?: string }).code}`);
      },
    );
  }

  async #apply(op: Op, run: Run): Promise<void> {
    switch (op.op) {
      case 'publish':
        return this.#publish(op, run);
      case 'consume': {
        const slot = run.slots[op.consumer]!;
        const d = await this.#poll(slot);
        if (!d) return;
        if (op.outcome === 'hold') {
          this.#held.push({ group: slot.group.name, consumer: slot.consumer, delivery: d, seen: this.history.deliveriesSeen(slot.group.name, d) });
          this.#event(`hold ${slot.group.name} v${d.value}`);
          return;
        }
        // A batch that failed (swarm.settleTogether): what else the consumer has ready now, nacked
        // with it in one turn (one settle command of many nacks).
        const batch = [d];
        for (let more = op.outcome === 'nack' && this.#swarm.settleTogether ? await this.#poll(slot) : undefined; more; more = batch.length < 8 ? await this.#poll(slot) : undefined) batch.push(more);
        for (const x of batch) this.#settle(slot.group.name, x, op.outcome);
        return;
      }
      case 'settleHeld': {
        const h = this.#held.shift();
        if (h) this.#settle(h.group, h.delivery, op.outcome, h.seen);
        return;
      }
      case 'sync':
        this.#fs.releaseSyncs(op.count, op.shuffle);
        return;
      case 'advance':
        this.#clock.advance(op.ms);
        return this.#event(`advance ${op.ms}`);
      case 'clockJump':
        this.#clock.jump(op.ms);
        return this.#event(`clock jumps ${op.ms}`);
      case 'lateTimers':
        this.#clock.advanceLate(op.ms);
        return this.#event(`timers late by up to ${op.ms}`);
      case 'redrive': {
        const dlq = `${this.#swarm.topics[op.topic]!.name}.dlq`;
        this.#counts.redrives!++;
        this.#event(`redrive ${dlq} limit ${op.limit}`);
        run.ferry.redrive(dlq, { limit: op.limit }).then((n) => this.history.redriven(n), (e: unknown) => this.#event(`redrive failed ${(e as { code?: string }).code}`));
        return;
      }
      case 'crash':
        return this.#crash(op.power);
      case 'consumerDies': {
        // A consumer dies holding leases: abandoned, not closed; a new member takes its place.
        const slot = run.slots[op.consumer]!;
        slot.consumer.abandon();
        this.history.memberLost(this.#clock.now(), slot.group.name);
        run.slots[op.consumer] = this.#slot(run.ferry, slot.group);
        return this.#event(`consumer ${slot.group.name} died`);
      }
      case 'consumerCloses':
        return this.#deploy(run, op.consumer);
      case 'producerRestarts':
        run.producers[0] = run.ferry.producer({ id: 'p1' }); // fences the old one
        return this.#event('producer p1 restarted');
      case 'txPipeline':
      case 'txRelease':
      case 'txHalf':
        return this.#tx.apply(op, run.ferry);
      case 'rsPublish':
      case 'rsConsume':
      case 'rsReset':
      case 'rsDeleteGroup':
      case 'rsDeleteTopic':
        return this.#admin.apply(op, run.ferry);
      case 'diskFull':
        this.#fs.faults.capacityBytes = this.#fs.faults.capacityBytes === Number.POSITIVE_INFINITY ? 0 : Number.POSITIVE_INFINITY;
        return this.#event(`disk ${this.#fs.faults.capacityBytes === 0 ? 'full' : 'has room'}`);
    }
  }

  /**
   * A deploy: the member closes with a deadline and a new one takes its place; its slow handlers
   * finish (ack) just as the deadline passes, after the close's own timer, in the same instant.
   * Their acks were given before the close let go of its leases, so they must be kept: an ack
   * refused as stale here means a release overtook it (issue 9 §2). Checked on a calm network
   * only (a duplicated or reordered reply can answer an ack with its duplicate's refusal).
   */
  async #deploy(run: Run, index: number): Promise<void> {
    const slot = run.slots[index]!;
    const handlers = this.#held.filter((h) => h.consumer === slot.consumer);
    this.#held.splice(0, this.#held.length, ...this.#held.filter((h) => h.consumer !== slot.consumer));
    const calm = this.#network.drop === 0 && this.#network.duplicate === 0 && this.#network.delay === 0;
    if (!calm) this.history.memberLost(this.#clock.now(), slot.group.name); // a lost release lets leases expire, charged
    // The handlers extend their leases first: one whose extend the partition applied is known to
    // run until at least a full ackTimeoutMs after this moment (a fetch reply that reached the
    // consumer late may hold a lease that is already gone: its ack's refusal is deserved).
    const from = this.#clock.monotonicNow();
    const live = new Set<Held>();
    for (const h of handlers) h.delivery.extend(ACK_TIMEOUT_MS).then(() => live.add(h), () => {});
    await flush(10);
    this.#event(`consumer ${slot.group.name} closes (deadline ${CLOSE_DEADLINE_MS} ms, ${handlers.length} held, ${live.size} extended)`);
    const closing = slot.consumer.close({ timeoutMs: CLOSE_DEADLINE_MS });
    closing.then(() => this.#event(`consumer ${slot.group.name} closed`), (e: unknown) => this.#event(`close failed ${(e as { code?: string }).code}`));
    run.slots[index] = this.#slot(run.ferry, slot.group);
    await flush(10); // the close hands back its buffer and arms its deadline timer
    for (const h of handlers) {
      this.#clock.setTimer(CLOSE_DEADLINE_MS, () => {
        const mustKeep = calm && live.has(h) && this.#clock.monotonicNow() < from + ACK_TIMEOUT_MS - 100 && !this.history.superseded(h.group, h.delivery, h.seen);
        this.#settle(h.group, h.delivery, 'ack', h.seen, mustKeep);
      });
    }
    // Time moves to the deadline and stops there while the acks travel: the manual clock fires
    // timers back to back, so going further would let leases run out before the acks arrive.
    this.#clock.advance(CLOSE_DEADLINE_MS);
    this.#event(`advance ${CLOSE_DEADLINE_MS}`);
    await flush(10);
  }

  /** Faults on: runs the workload's operations. */
  /** Operations of the safety phase run so far. */
  opsRun = 0;

  async safety(ops: readonly Op[]): Promise<void> {
    this.#run = await this.#open();
    for (const op of ops) {
      this.#fs.faults.fsyncFailure = this.#swarm.fsyncFailure;
      this.opsRun++;
      await this.#apply(op, this.#run);
      await flush(2);
      this.#stopIfViolated();
    }
  }

  #stopIfViolated(): void {
    if (this.#stopAtFirstViolation && this.history.violations.length > 0) throw new RunStopped();
  }

  /** Faults off: heal, restart (recovering twice), and drain every group and dead-letter topic. */
  async liveness(): Promise<void> {
    Object.assign(this.#network, HEALTHY_NETWORK);
    this.#healDisk();
    await this.#drainWithoutRestart();
    this.#crashDisk('process');
    this.#held.length = 0;
    await this.#recoverTwice();
    this.#stopIfViolated();
    const run = this.#run!;
    const letters = run.ferry.consumer<number>('ops', { topics: this.#swarm.topics.map((t) => `${t.name}.dlq`), maxInFlight: 64, pollWaitMs: POLL_WAIT_MS });
    const opsSlot: Slot = { group: { name: 'ops', ordering: 'none', topics: [] } as unknown as Slot['group'], consumer: letters, waiting: undefined };
    await this.#drain(run, opsSlot);
    // Every letter goes back to its topic, twice over: the second pass must find nothing to move.
    for (let pass = 0; pass < 2; pass++) {
      for (const t of this.#swarm.topics) {
        const moved = await this.#driveDisk(run.ferry.redrive(`${t.name}.dlq`)).catch((e: unknown) => this.history.violate('redrive (liveness)', `redrive of ${t.name}.dlq failed with faults off: ${(e as Error).message}`));
        if (typeof moved === 'number') this.history.redriven(moved);
      }
    }
    await this.#drain(run, opsSlot);
    const tick = async (): Promise<void> => {
      this.#fs.releaseSyncs();
      this.#clock.advance(500);
      await flush(2);
    };
    await this.#tx.drain(run.ferry, tick);
    await this.#tx.check(run.ferry, tick);
    await this.#admin.drain(run.ferry, tick);
    this.history.finish();
    await this.#auditCorruption();
  }

  /**
   * Media corruption: a bit flips in a batch the log can prove was synced; after a restart (which
   * may refuse the log, naming the damage), a fresh group
   * reading the partition must get a typed corruption error at that batch, never a damaged value,
   * and everything before it intact.
   */
  async #auditCorruption(): Promise<void> {
    const topic = this.#swarm.topics[0]!.name;
    const target = chooseFlip(this.#fs, `/sim/topics/${topic}/0`, this.#choices);
    if (!target) return void (await this.#driveDisk(this.#run!.ferry.close()).catch(() => {}));
    const { path, position, bit } = target;
    this.#fs.flipBit(path, position, bit);
    this.#counts.bitFlips!++;
    this.#event(`bit flip in ${path} at ${position}`);
    this.#crashDisk('process');
    let run: Run;
    try {
      run = this.#run = await this.#open({ corruptionExpected: true });
    } catch (error) {
      // Found at recovery (replay reads the log from its last checkpoint): refused, named, typed.
      return this.#event(`corruption reported at open: ${(error as Error).message.slice(0, 80)}`);
    }
    const audit = run.ferry.consumer<number>('audit', { topics: [topic], maxInFlight: 64, pollWaitMs: POLL_WAIT_MS });
    let failure: unknown;
    for (let idle = 0; idle < 20 && failure === undefined; ) {
      let got: Delivery<number> | undefined;
      const next = audit.next().then((d) => (got = d), (e: unknown) => (failure = e));
      for (let i = 0; i < 50 && got === undefined && failure === undefined; i++) {
        this.#fs.releaseSyncs();
        await flush(2);
      }
      if (got) {
        idle = 0;
        this.history.audited(got);
        void got.ack();
      } else {
        idle++;
        this.#clock.advance(500);
        void next;
      }
    }
    const code = (failure as { code?: string } | undefined)?.code;
    if (code !== 'CORRUPT_SEGMENT') this.history.violate('corruption is reported', `a flipped bit in ${path} at byte ${position} ${failure ? `failed reads with ${code ?? String(failure)}` : 'went unnoticed by a reader of the whole partition'}`);
    else this.#event('corruption reported');
    await this.#driveDisk(run.ferry.close()).catch(() => {});
  }

  /** Acks whatever the groups get and reads the dead letters, until everything is settled. */
  /**
   * Drains the running engine, faults off, before the liveness phase restarts it: a restart
   * reschedules every unsettled message, so a message the live engine lost track of (issue 9: a
   * retry dropped from the ready queue) would come back there and go unnoticed. Skipped when a
   * sync failed since the last open (a failed sync fails the log until it is reopened).
   */
  async #drainWithoutRestart(): Promise<void> {
    const run = this.#run!;
    if (this.#fs.stats.failedSyncs > this.#failedSyncsAtOpen) return;
    const letters = run.ferry.consumer<number>('ops', { topics: this.#swarm.topics.map((t) => `${t.name}.dlq`), maxInFlight: 64, pollWaitMs: POLL_WAIT_MS });
    const opsSlot: Slot = { group: { name: 'ops', ordering: 'none', topics: [] } as unknown as Slot['group'], consumer: letters, waiting: undefined };
    await this.#drain(run, opsSlot);
    const left = this.history.unsettled();
    if (left.length > 0) this.history.violate('no loss without a restart', `the running engine, faults off, never delivered: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ` and ${left.length - 10} more` : ''}`);
    this.#stopIfViolated();
  }

  async #drain(run: Run, opsSlot: Slot): Promise<void> {
    // Until everything is settled and, beyond that, no letter has come for a while: a redrive
    // must never move a letter the operators' group has not read (the 'redrive once' check counts
    // copies against the letters seen). A message can be settled for its group (a stale ack that
    // may have taken effect) while its letter is still on its way (fresh seed 1356550928).
    let quiet = 0;
    for (let round = 0; round < 600 && (this.history.unsettled().length > 0 || quiet < LETTERS_QUIET_ROUNDS); round++) {
      let progress = false;
      for (const slot of run.slots) {
        const d = await this.#poll(slot);
        if (d) {
          this.#settle(slot.group.name, d, 'ack');
          progress = true;
        }
      }
      const letter = await this.#pollLetter(opsSlot);
      if (letter) {
        this.#counts.deadLetters!++;
        this.history.letter(letter);
        void letter.ack();
        progress = true;
      }
      this.#fs.releaseSyncs();
      if (!progress) this.#clock.advance(500);
      quiet = progress ? 0 : quiet + 1;
      await flush(2);
      this.#stopIfViolated();
    }
  }

  async #pollLetter(slot: Slot): Promise<Delivery<number> | undefined> {
    let got: Delivery<number> | undefined;
    slot.waiting ??= slot.consumer.next();
    void slot.waiting.then((d) => (got = d), () => {});
    await flush(3);
    if (got) slot.waiting = undefined;
    return got;
  }

  /**
   * Recovery is a function of the disk: the state recovered (once the work recovery starts, such
   * as dead letters left half sent, is done and synced), then recovered again after a crash that
   * loses nothing, must be the same: a second recovery finds nothing left to do.
   */
  async #recoverTwice(): Promise<void> {
    // Both recoveries must see the same instant: the state compares persisted times converted
    // from monotonic ones, which a creeping clock would move between the two.
    const creep = this.#clock.creepMs;
    this.#clock.creepMs = 0;
    try {
      await this.#recoverTwiceAtOneInstant();
    } finally {
      this.#clock.creepMs = creep;
    }
  }

  async #recoverTwiceAtOneInstant(): Promise<void> {
    const first = await this.#open();
    await this.#quiesce();
    const before = first.runtime.describe();
    this.#crashDisk('process');
    this.#run = await this.#open();
    await this.#quiesce();
    const after = this.#run.runtime.describe();
    if (!isDeepStrictEqual(before, after)) {
      const differs = Object.keys({ ...before, ...after }).filter((k) => !isDeepStrictEqual(before[k], after[k]));
      this.history.violate('recovery is deterministic', `recovering the disk again changed ${differs.join(', ')}: ${JSON.stringify(before[differs[0]!])} then ${JSON.stringify(after[differs[0]!])}`);
    }
  }
}
