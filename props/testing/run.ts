// One simulated run (see simulate.ts): the process and its restarts, the driver of virtual time
// and the fault plan, and the workload's tools (sleep, stores, effects, publish, settle). Which
// process a piece of code belongs to is tracked with AsyncLocalStorage: code a process started
// (its handlers included) is in its context, so the tools can refuse to resume it once it crashed.
// Runs on the caller's thread.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Message } from '../../core/codec.ts';
import { Ferry } from '../../core/ferry.ts';
import { LocalRuntime } from '../../core/local-runtime.ts';
import type { Producer, PublishResult } from '../../core/producer.ts';
import { FerryError, InvalidArgumentError, ManualClock, SeededRandom, type Random, showValue } from '../../wal/index.ts';
import { MemoryFileSystem } from '../../wal/fault-disk.ts';
import { driveDisk, eventLoopTurns, healDisk } from '../sim/disk-faults.ts';
import { SimulatedNetwork, type NetworkFaults } from '../sim/network.ts';
import { refuseUnknownOptions } from '../../core/option-names.ts';
import { AUDIT_GROUP, ClientLink } from './client-link.ts';
import { SimulatedCrashError, SimulationStuckError } from './errors.ts';
import { HistoryRecorder } from './history.ts';
import { backwardJumpsMs, type FaultEvent, type FaultPlan } from './plan.ts';
import type { SettleOptions, SimulateOptions, SimulatedEngineOptions } from './simulation.ts';
import { MemoryStore, type SimulatedStore } from './store.ts';

/** One life of the simulated process. */
interface Incarnation {
  readonly n: number;
  alive: boolean;
  readonly ferry: Ferry;
  readonly runtime: LocalRuntime;
  readonly link: ClientLink;
  readonly network: SimulatedNetwork;
  /** Resolves once the process has crashed and the next one has started. */
  readonly restarted: Promise<void>;
  readonly markRestarted: () => void;
  producer?: Producer;
  /** A producer without idempotence: the second copy of a duplicate publish must not be caught by it. */
  loose?: Producer;
}

/** The code outside the simulated process (the workload's own body) never dies. */
export const WORLD = { n: 0, alive: true } as const;
export const contexts = new AsyncLocalStorage<{ readonly n: number; readonly alive: boolean }>();
const current = () => contexts.getStore() ?? WORLD;
const never = <T>(): Promise<T> => new Promise<T>(() => {});

const DATA_DIR = '/app';
/** Event-loop turns per driver step: the engine defers work as microtasks, which one turn runs. */
const FLUSH_ROUNDS = 1;
const START_WALL_MS = 1_700_000_000_000;
/** A sync completes this long after it is asked for: writes stay unsynced for a moment, so power loss can take them. */
const SYNC_LATENCY_MS = 1;
const PUBLISH_RETRY_MS = 100;
const MAX_PUBLISH_TRIES = 200;
/** Process functions that may fail (each failure restarts the process) before the run fails. */
const MAX_PROCESS_FAILURES = 20;
/** Codes after which a publish is worth trying again (on this engine, or the restarted one). */
const RETRY_CODES = new Set(['FSYNC_FAILED', 'IO_ERROR', 'CLOSED', 'LOG_CLOSED', 'PRODUCER_FENCED']);

/** A failure the same call may get past later: a retriable one, or one a restart cures. */
const worthRetrying = (error: unknown): boolean =>
  error instanceof FerryError
    ? error.retriable || RETRY_CODES.has(error.code)
    : // A failed directory sync while a topic's log is created escapes the engine untyped (as EIO).
      (error as { code?: unknown } | undefined)?.code === 'EIO';

export class SimulatedRun {
  readonly seed: number;
  readonly plan: FaultPlan;
  readonly clock = new ManualClock(START_WALL_MS);
  readonly history: HistoryRecorder;
  readonly random: Random;
  /** The tools' own choices (commit latency, duplicate publishes): the workload's stream stays its own. */
  readonly #toolRandom: Random;
  readonly #engineRandom: Random;
  readonly #networkRandom: Random;
  readonly #fs: MemoryFileSystem;
  readonly #network: NetworkFaults;
  readonly #engine: SimulatedEngineOptions;
  readonly #maxVirtualMs: number;
  readonly #starts: ((ferry: Ferry) => unknown)[] = [];
  readonly #onCrash: (() => void)[] = [];
  readonly #stores = new Map<string, MemoryStore<unknown>>();
  /** What the driver does next, by virtual time: the plan's faults and the ends of their episodes. */
  #agenda: { atMs: number; run: () => unknown; planned?: true }[];
  #inc!: Incarnation;
  #restarts = 0;
  #processFailures = 0;
  #failure: { error: unknown } | undefined;
  /** The faults in progress, one at a time (a crash waits for a restart under way). */
  #faulting: Promise<void> = Promise.resolve();
  #syncsDueAt: number | undefined;

  constructor(options: SimulateOptions, plan: FaultPlan) {
    this.seed = options.seed;
    this.plan = plan;
    const root = new SeededRandom(options.seed);
    this.random = root.fork('workload');
    this.#toolRandom = root.fork('tools');
    this.#engineRandom = root.fork('engine');
    this.#networkRandom = root.fork('network');
    this.#fs = new MemoryFileSystem({ random: root.fork('disk'), syncs: 'manual' });
    this.#network = { ...plan.network };
    this.#engine = options.engine ?? {};
    this.#maxVirtualMs = options.maxVirtualMs ?? 600_000 + backwardJumpsMs(plan);
    this.history = new HistoryRecorder(() => this.clock.monotonicNow());
    this.#agenda = plan.events.map((e) => ({ atMs: e.atMs, run: () => this.#fault(e), planned: true }));
  }

  get ferry(): Ferry {
    return this.#inc.ferry;
  }

  get restarts(): number {
    return this.#restarts;
  }

  // --- the process --------------------------------------------------------------------------

  async open(): Promise<void> {
    const n = (this.#inc?.n ?? 0) + 1;
    for (let round = 0; ; round++) {
      let parts: Pick<Incarnation, 'runtime' | 'link' | 'network'> | undefined;
      try {
        const ferry = await this.#driveDisk(
          Ferry.open({ fsync: 'interval', ...this.#engine, dir: DATA_DIR, threads: 1, fs: this.#fs.processView(), clock: this.clock, random: this.#engineRandom.fork(`run${n}`) }, (o) => {
            const runtime = new LocalRuntime(o.local);
            const network = new SimulatedNetwork(runtime, this.clock, this.#networkRandom, this.#network, { lostDeliveries: () => {} });
            const link = new ClientLink(network, this.history, n);
            parts = { runtime, network, link };
            return link;
          }),
        );
        let markRestarted!: () => void;
        const restarted = new Promise<void>((resolve) => (markRestarted = resolve));
        this.#inc = { n, alive: true, ferry, restarted, markRestarted, ...parts! };
        return;
      } catch (error) {
        // A disk still failing (full, a sync) heals and the open is tried again, as an operator
        // would; bad engine options are the caller's to fix.
        if (round >= 3 || (error instanceof FerryError && error.code === 'INVALID_ARGUMENT')) throw error;
        this.#healDisk();
      }
    }
  }

  /**
   * Runs `start` inside the current process. If it throws or rejects while the process lives (a
   * consumer's run() after a failed fsync, say), the process exits as an unhandled rejection would
   * make it, and restarts; past MAX_PROCESS_FAILURES the run fails with that error.
   */
  startIn(start: (ferry: Ferry) => unknown): void {
    const inc = this.#inc;
    const fail = (error: unknown): void => {
      if (!inc.alive) return;
      if (++this.#processFailures > MAX_PROCESS_FAILURES) this.#failure ??= { error };
      else this.#schedule(this.clock.monotonicNow(), () => inc.alive && this.#crash('process', `exit: ${error instanceof Error ? error.message.slice(0, 80) : String(error)}`));
    };
    try {
      const result = contexts.run(inc, () => start(inc.ferry));
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  process(start: (ferry: Ferry) => unknown, now: boolean): void {
    if (typeof start !== 'function') throw new InvalidArgumentError(`process() and onRestart() take a function (ferry) => … (got ${showValue(start)})`);
    this.#starts.push(start);
    if (now) this.startIn(start);
  }

  onCrash(fn: () => void): void {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`onCrash() takes a function (got ${showValue(fn)})`);
    this.#onCrash.push(fn);
  }

  crash(kind: 'process' | 'power'): Promise<void> {
    if (kind !== 'process' && kind !== 'power') return Promise.reject(new InvalidArgumentError(`crash() takes 'process' or 'power' (got ${showValue(kind)})`));
    return this.#serial(() => this.#crash(kind));
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const next = this.#faulting.then(step);
    this.#faulting = next.catch(() => {});
    return next;
  }

  async #crash(kind: 'process' | 'power', why?: string): Promise<void> {
    const dead = this.#inc;
    dead.alive = false;
    dead.link.kill();
    dead.network.sever();
    this.#fs.crash(kind);
    this.#syncsDueAt = undefined;
    this.history.fault(why ?? (kind === 'power' ? 'powerLoss' : 'crash'));
    for (const fn of this.#onCrash) fn();
    this.#healDisk();
    this.#restarts++;
    await this.open();
    for (const start of this.#starts) this.startIn(start);
    dead.markRestarted();
  }

  /**
   * A call of the workload on the engine running now. If the process crashes before it settles,
   * it is made again on the restarted engine (`retry`, for idempotent calls such as createTopic)
   * or fails with SIMULATED_CRASH; a failure caused by the crash itself counts as the crash.
   * `first` is the call already made on the current engine, if it was.
   */
  guard<T>(what: string, call: (ferry: Ferry) => Promise<T>, retry: boolean, first?: Promise<T>, tries = 1): Promise<T> {
    const inc = this.#inc;
    const attempt = first ?? call(inc.ferry);
    return new Promise<T>((resolve, reject) => {
      let done = false;
      attempt.then(
        (value) => {
          if (done || !inc.alive) return;
          done = true;
          resolve(value);
        },
        (error: unknown) => {
          if (done || !inc.alive) return;
          done = true;
          // A full disk, or a failed fsync the coming restart cures: try again a little later.
          if (retry && worthRetrying(error) && tries < MAX_PUBLISH_TRIES) this.sleep(PUBLISH_RETRY_MS).then(() => this.guard(what, call, retry, undefined, tries + 1)).then(resolve, reject);
          else reject(error);
        },
      );
      void inc.restarted.then(() => {
        if (done) return;
        done = true;
        if (retry) this.guard(what, call, retry).then(resolve, reject);
        else reject(new SimulatedCrashError(what));
      });
    });
  }

  #healDisk(): void {
    healDisk(this.#fs);
  }

  /** Applies one planned fault (the driver runs it as one serial step: it calls #crash, not crash). */
  #fault(e: FaultEvent): Promise<void> | void {
    switch (e.kind) {
      case 'crash':
        return this.#crash('process');
      case 'powerLoss':
        return this.#crash('power');
      case 'pause':
        this.history.fault('pause', e.ms);
        return this.clock.advanceLate(Math.max(0, e.ms ?? 0));
      case 'clockJump':
        this.history.fault('clockJump', e.ms);
        return this.clock.jump(e.ms ?? 0);
      case 'fsyncFailure': {
        this.history.fault('fsyncFailure');
        this.#fs.failNextSyncs(1);
        // After a failed fsync the log confirms nothing more: a supervisor restarts the process.
        return this.#schedule(this.clock.monotonicNow() + Math.max(1, e.ms ?? 100), () => this.#crash('process'));
      }
      case 'diskFull': {
        this.history.fault('diskFull', e.ms);
        this.#fs.faults.capacityBytes = Number.POSITIVE_INFINITY;
        this.#fs.faults.capacityBytes = -this.#fs.freeBytes();
        return this.#schedule(this.clock.monotonicNow() + Math.max(1, e.ms ?? 1000), () => void (this.#fs.faults.capacityBytes = Number.POSITIVE_INFINITY));
      }
    }
  }

  #schedule(atMs: number, run: () => unknown): void {
    this.#agenda.push({ atMs, run });
    this.#agenda.sort((a, b) => a.atMs - b.atMs);
  }

  /** No more faults: the plan's rest is dropped (restarts already due still happen), the network and disk heal. */
  heal(): void {
    this.#agenda = this.#agenda.filter((item) => !item.planned);
    Object.assign(this.#network, { drop: 0, duplicate: 0 });
    this.#healDisk();
  }

  // --- the driver ---------------------------------------------------------------------------

  /** Awaits `pending` while releasing the disk's syncs (no virtual time passes): opening the engine. */
  #driveDisk<T>(pending: Promise<T>): Promise<T> {
    return driveDisk(this.#fs, pending, 1, 500);
  }

  /** Runs virtual time until `work` settles: timer to timer, applying the agenda on the way. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const tracked = work.finally(() => (done = true));
    tracked.catch(() => {});
    let sameTimeSteps = 0;
    while (!done) {
      await eventLoopTurns(FLUSH_ROUNDS);
      if (done) break;
      if (this.#failure) throw this.#failure.error;
      const now = this.clock.monotonicNow();
      const next = this.#agenda[0];
      if (next && next.atMs <= now) {
        this.#agenda.shift();
        await this.#serial(async () => void (await next.run()));
        continue;
      }
      if (this.#fs.pendingSyncs > 0) this.#syncsDueAt ??= now + SYNC_LATENCY_MS;
      let target = Math.min(this.clock.nextTimerAt() ?? Infinity, next?.atMs ?? Infinity, this.#syncsDueAt ?? Infinity);
      if (target === Infinity) target = now + 100;
      // A timer re-arming itself at once must not hold time still forever.
      sameTimeSteps = target <= now ? sameTimeSteps + 1 : 0;
      if (sameTimeSteps > 10_000) target = now + 1;
      if (target > this.#maxVirtualMs) throw new SimulationStuckError('the workload did not finish', now);
      this.clock.advanceTo(Math.max(now, target));
      if (this.#syncsDueAt !== undefined && this.clock.monotonicNow() >= this.#syncsDueAt) {
        this.#syncsDueAt = undefined;
        this.#fs.releaseSyncs();
      }
    }
    if (this.#failure) throw this.#failure.error;
    return tracked;
  }

  // --- the workload's tools -----------------------------------------------------------------

  sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) return Promise.reject(new InvalidArgumentError(`sleep(ms) takes a number of ms from 0 (got ${showValue(ms)})`));
    const caller = current();
    if (!caller.alive) return never();
    return new Promise<void>((resolve) => this.clock.setTimer(ms, () => caller.alive && resolve()));
  }

  effect(name: string, key: string, data: unknown): void {
    if (typeof name !== 'string' || typeof key !== 'string') throw new InvalidArgumentError(`effect(name, key, data?) takes two strings first (got ${showValue(name)}, ${showValue(key)})`);
    const caller = current();
    if (caller.alive) this.history.effect(name, key, data, caller.n);
  }

  store<V>(name: string): SimulatedStore<V> {
    let store = this.#stores.get(name);
    if (!store) {
      store = new MemoryStore<unknown>({
        commitDelay: () => this.sleep(1 + this.#toolRandom.int(5)),
        alive: () => current().alive,
        effect: (n, k, data) => this.effect(n, k, data),
      });
      this.#stores.set(name, store);
    }
    return store as SimulatedStore<V>;
  }

  async publish<V>(topic: string, messages: Message<V> | readonly Message<V>[]): Promise<PublishResult[]> {
    const list: readonly Message<V>[] = Array.isArray(messages) ? messages : [messages as Message<V>];
    const results = await this.#publishUntilConfirmed(topic, list, (inc) => (inc.producer ??= inc.ferry.producer()), (inc) => (inc.producer = undefined));
    if (this.#toolRandom.chance(this.plan.duplicatePublish)) {
      // The producer did not hear the confirm and sent it again: a second copy unless an id dedupes it.
      this.history.fault('duplicatePublish');
      await this.#publishUntilConfirmed(topic, list, (inc) => (inc.loose ??= inc.ferry.producer({ idempotent: false })), (inc) => (inc.loose = undefined)).catch(() => {});
    }
    return results;
  }

  async #publishUntilConfirmed<V>(topic: string, list: readonly Message<V>[], producerOf: (inc: Incarnation) => Producer, drop: (inc: Incarnation) => void): Promise<PublishResult[]> {
    for (let tries = 1; ; tries++) {
      const inc = this.#inc;
      try {
        return await producerOf(inc).publishMany(topic, list);
      } catch (error) {
        if (!worthRetrying(error) || tries >= MAX_PUBLISH_TRIES) throw error;
        drop(inc); // a fresh producer for the next try
        await this.sleep(PUBLISH_RETRY_MS);
      }
    }
  }

  async settle(options: SettleOptions = {}): Promise<void> {
    refuseUnknownOptions('settle options', options, ['quietMs', 'timeoutMs']);
    for (const name of ['quietMs', 'timeoutMs'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new InvalidArgumentError(`settle options.${name} must be a number of virtual ms from 0 (got ${showValue(v)})`);
    }
    const quietMs = options.quietMs ?? 3000;
    // A retry or lease the engine logged in wall time is due that much later after a restart when
    // the wall clock has stepped back since (seed 13 of examples/testing/payments.ts: 66 minutes).
    const timeoutMs = options.timeoutMs ?? 300_000 + backwardJumpsMs(this.plan);
    this.heal();
    const started = this.clock.monotonicNow();
    let audited: Incarnation | undefined;
    for (;;) {
      if (audited !== this.#inc) this.#audit((audited = this.#inc));
      await this.sleep(250);
      const behind = this.#behind();
      const now = this.clock.monotonicNow();
      if (behind.length === 0 && now - this.history.lastActivityMs >= quietMs) return;
      if (now - started > timeoutMs) throw new SimulationStuckError(`settle(): still behind: ${behind.slice(0, 5).join('; ')}`, now);
    }
  }

  /** Reads every dead-letter topic into the history, in the current process. */
  #audit(inc: Incarnation): void {
    const names = new Set(inc.ferry.topics().map((t) => t.options.deadLetter).filter((d): d is string => typeof d === 'string'));
    if (names.size === 0) return;
    this.startIn((ferry) =>
      ferry.consumer(AUDIT_GROUP, { topics: [...names], maxInFlight: 64 }).run((d) => {
        const info = d.deadLetter;
        if (info) this.history.deadLettered({ group: info.group, topic: info.topic, partition: info.partition, offset: info.offset, attempts: info.attempts, lastError: info.lastError });
      }),
    );
  }

  /**
   * Groups with messages not yet settled, per partition; and groups a consumer asked to join (the
   * history saw it) that the partition does not know: a join lost on the network, or not yet
   * logged when the process crashed, and no consumer of the new process asking again.
   */
  #behind(): string[] {
    const out: string[] = [];
    for (const [partition, state] of Object.entries(this.#inc.runtime.describe())) {
      const topic = partition.slice(0, partition.lastIndexOf('/'));
      for (const [group, topics] of this.history.groups) {
        if (topics.has(topic) && !(group in state.state.groups)) out.push(`group ${group} on ${partition}: not joined (no consumer of it in the running process?)`);
      }
      for (const [group, g] of Object.entries(state.state.groups)) {
        const unread = Math.max(0, state.nextOffset - g.cursor);
        if (unread > 0 || g.pending.length > 0) out.push(`group ${group} on ${partition}: ${unread} unread, ${g.pending.length} leased or waiting to retry`);
      }
    }
    return out;
  }

  summary(): string {
    const counts = new Map<string, number>();
    for (const f of this.history.faults) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    const { drop, duplicate } = this.plan.network;
    const network = drop > 0 || duplicate > 0 ? [`network drop ${drop}, duplicate ${duplicate}`] : [];
    const faults = [...[...counts].map(([k, n]) => `${k} ×${n}`), ...network].join(', ') || 'no faults';
    return `${this.clock.monotonicNow()} ms of virtual time, ${faults}`;
  }
}
