// The engine's alert events (runs on the caller's thread). Partitions keep what happened to them
// (dead letters, expiries, cuts, full disks) in a bounded buffer; while anyone listens, the engine
// collects those buffers every `alerts.pollMs` (one `stats` command per partition, sent together)
// and derives the rest from the figures: lag, redelivery rate, stalled groups, shard restarts,
// blocked retention, failed syncs. Events carry names, partitions, offsets, counts and errors,
// never message bodies. A listener that throws is ignored: it never breaks the engine.
import type { Clock, TimerHandle } from '../wal/index.ts';
import { InvalidArgumentError, OverloadedError, showValue } from '../wal/index.ts';
import type { ResolvedAlertOptions } from './alert-options.ts';
import type { ConsumerFailedEvent } from './consumer-fault.ts';
import type { Collected, GroupMetrics, UnavailablePartition } from './metrics.ts';
import type { PartitionEvent } from './partition-metrics.ts';
import { REDRIVE_GROUP } from './redrive.ts';

type Of<T extends PartitionEvent['type']> = Extract<PartitionEvent, { readonly type: T }>;

/** Payload of every event, by name (`ferry.on(name, listener)`). Times are wall times (ms). */
export interface FerryEventMap {
  /** A group moved a message to the dead-letter topic (or dropped it, with no dead-letter topic). */
  readonly deadLettered: Of<'deadLettered'>;
  /** A message failed its `maxDeliveries`-th attempt; its dead-lettering begins. */
  readonly maxDeliveriesReached: Of<'maxDeliveriesReached'>;
  /** A lease ran out while a handler held the message: a failed attempt. */
  readonly leaseExpired: Of<'leaseExpired'>;
  /** Recovery cut a partition log (a torn tail after a crash, or a repair), at the engine's open or a worker's restart. */
  readonly tornTailCut: Of<'tornTailCut'>;
  /** A publish found the disk full (at most one a second per partition). */
  readonly diskFull: Of<'diskFull'>;
  /** A group scheduled more redeliveries per second on a topic than `alerts.redeliveriesPerSecond`. */
  readonly redeliveryStorm: { readonly type: 'redeliveryStorm'; readonly at: number; readonly topic: string; readonly group: string; readonly redeliveries: number; readonly perSecond: number; readonly threshold: number };
  /** A group's lag on a topic went over `alerts.lagMessages` or `alerts.lagAgeMs`. */
  readonly lagHigh: { readonly type: 'lagHigh'; readonly at: number; readonly topic: string; readonly group: string; readonly lag: number; readonly lagAgeMs: number };
  /** A group's lag that was high is back within both thresholds. */
  readonly lagRecovered: { readonly type: 'lagRecovered'; readonly at: number; readonly topic: string; readonly group: string; readonly lag: number; readonly lagAgeMs: number };
  /** A group has unsettled messages on a topic and settled none for `alerts.stalledAfterMs`. */
  readonly consumerStalled: { readonly type: 'consumerStalled'; readonly at: number; readonly topic: string; readonly group: string; readonly lag: number; readonly stalledForMs: number };
  /** A consumer of this engine reported a fault (see ConsumerFault): it could not join or fetch, or (with `offset` and `attempt`) a handler's outcome was lost or its error could not be a nack. */
  readonly consumerFailed: ConsumerFailedEvent;
  /** A worker thread died and its shard restarted (from its logs). */
  readonly shardRestarted: { readonly type: 'shardRestarted'; readonly at: number; readonly shard: number; readonly restarts: number };
  /** A shard spent its restart budget and is stopped until the engine is reopened. */
  readonly shardFailed: { readonly type: 'shardFailed'; readonly at: number; readonly shard: number; readonly restarts: number };
  /** A partition's log failed a sync: it confirms nothing more until the engine is reopened. */
  readonly fsyncFailed: { readonly type: 'fsyncFailed'; readonly at: number; readonly topic: string; readonly partition: number; readonly code: string; readonly message: string };
  /** A partition's checkpoint failed: retention deletes nothing there until one succeeds. */
  readonly retentionBlocked: { readonly type: 'retentionBlocked'; readonly at: number; readonly topic: string; readonly partition: number; readonly reason: string };
  /**
   * `resolveInDoubt` failed (threw, or answered neither 'commit' nor 'abort') for a half transaction
   * a crash left in doubt: it is asked again after `retryInMs`, and until it answers the
   * transaction's messages stay invisible and the deliveries it acked stay reserved. Once per try.
   */
  readonly checkBackFailed: { readonly type: 'checkBackFailed'; readonly at: number; readonly transactionId: string; readonly begunAt: number; readonly tries: number; readonly retryInMs: number; readonly code: string; readonly message: string };
  /** Partitions dropped events because nobody collected them in time (their buffers are bounded). */
  readonly eventsDropped: { readonly type: 'eventsDropped'; readonly at: number; readonly dropped: number };
}

/** The name of an event. */
export type FerryEventName = keyof FerryEventMap;

/** Every event name, for validation and docs. */
export const FERRY_EVENT_NAMES: readonly FerryEventName[] = Object.freeze([
  'deadLettered', 'maxDeliveriesReached', 'leaseExpired', 'tornTailCut', 'diskFull', 'redeliveryStorm', 'lagHigh', 'lagRecovered',
  'consumerStalled', 'consumerFailed', 'shardRestarted', 'shardFailed', 'fsyncFailed', 'retentionBlocked', 'checkBackFailed', 'eventsDropped',
] as const);

/** Listeners one event name may have; one more is OVERLOADED (a listener added per request is a leak). */
export const MAX_LISTENERS_PER_EVENT = 100;

/** The figures a group's derived alerts read (lag, redeliveries, settles). */
export type AlertGroupFigures = Pick<GroupMetrics, 'group' | 'topic' | 'redeliveredAfterNack' | 'redeliveredAfterLeaseExpiry' | 'acked' | 'deadLettered' | 'lag' | 'lagAgeMs'>;

/**
 * What one poll reads: a backend's raised events and the figures the derived alerts come from.
 * The embedded engine's `Collected` is one; another backend (NATS) gives what it has: partitions
 * without checkpoints, no shards.
 */
export interface AlertInput {
  readonly metrics: {
    readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly checkpointError: string | null }[] }[];
    readonly groups: readonly AlertGroupFigures[];
    readonly unavailable: readonly UnavailablePartition[];
  };
  readonly events: readonly PartitionEvent[];
  readonly eventsDropped: number;
  readonly shards: Collected['shards'];
}

/** What the engine remembers of a group on a topic between polls. */
interface GroupMemory {
  redelivered: number;
  settled: number;
  progressAt: number;
  stalled: boolean;
  lagHigh: boolean;
}

/** Listeners, the poll, and what the last poll saw. */
export class EngineEvents {
  readonly #listeners = new Map<FerryEventName, Set<(event: never) => void>>();
  readonly #collect: () => Promise<AlertInput>;
  readonly #clock: Clock;
  readonly #o: ResolvedAlertOptions;
  #timer: TimerHandle | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;
  /** Events of partitions older than this (wall) were raised before anyone listened: not delivered. */
  #listeningSince: number | undefined;
  #groups = new Map<string, GroupMemory>();
  #shards: { restarts: number; failed: boolean }[] = [];
  #blocked = new Set<string>();
  #syncFailed = new Set<string>();
  #lastPollAt: number | undefined;

  constructor(collect: () => Promise<AlertInput>, clock: Clock, options: ResolvedAlertOptions) {
    this.#collect = collect;
    this.#clock = clock;
    this.#o = options;
  }

  /** Adds a listener; returns the function that removes it. The poll runs while any listener is registered. */
  on<K extends FerryEventName>(name: K, listener: (event: FerryEventMap[K]) => void): () => void {
    if (!FERRY_EVENT_NAMES.includes(name)) throw new InvalidArgumentError(`unknown event ${JSON.stringify(name)}; the events are ${FERRY_EVENT_NAMES.join(', ')}`);
    if (typeof listener !== 'function') throw new InvalidArgumentError(`the listener of ${name} must be a function (got ${showValue(listener)})`);
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    if (set.size >= MAX_LISTENERS_PER_EVENT) throw new OverloadedError(MAX_LISTENERS_PER_EVENT, `event ${name} already has ${MAX_LISTENERS_PER_EVENT} listeners (remove unused ones with the function on() returned)`);
    set.add(listener as (event: never) => void);
    this.#listeningSince ??= this.#clock.now();
    this.#arm();
    return () => {
      set.delete(listener as (event: never) => void);
      if (this.#listenerCount() === 0) {
        this.#timer?.cancel();
        this.#timer = undefined;
      }
    };
  }

  #listenerCount(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  /** Calls every listener of `name`; one that throws is ignored. */
  emit<K extends FerryEventName>(name: K, event: FerryEventMap[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (e: FerryEventMap[K]) => void)(event);
      } catch {
        // A listener's own failure is its own: the engine and the other listeners go on.
      }
    }
  }

  #arm(): void {
    if (this.#timer || this.#closed || this.#listenerCount() === 0) return;
    // Not keeping the process alive: alerts watch the engine, they are no work of their own.
    this.#timer = this.#clock.setTimer(this.#o.pollMs, () => {
      this.#timer = undefined;
      void this.poll().finally(() => this.#arm());
    });
  }

  /**
   * Collects and delivers events now (the timer does this every `pollMs`). Polls run one at a
   * time, in order: one asked for during another runs after it, so it sees the state of now.
   */
  poll(): Promise<void> {
    const run: Promise<void> = (this.#polling ?? Promise.resolve()).then(() => this.#pollOnce());
    this.#polling = run;
    void run.finally(() => {
      if (this.#polling === run) this.#polling = undefined;
    });
    return run;
  }

  async #pollOnce(): Promise<void> {
    if (this.#closed) return;
    let collected: AlertInput;
    try {
      collected = await this.#collect();
    } catch {
      return; // the engine is closing, or every partition is down: the next poll tries again
    }
    const now = this.#clock.now();
    const since = this.#listeningSince ?? now;
    for (const e of collected.events) {
      // Recovery's cuts at the engine's own open happened before anyone could listen: delivered all the same.
      if (e.at < since && e.type !== 'tornTailCut') continue;
      this.emit(e.type, e as never);
    }
    if (collected.eventsDropped > 0) this.emit('eventsDropped', { type: 'eventsDropped', at: now, dropped: collected.eventsDropped });
    this.#shardEvents(collected.shards, now);
    this.#partitionEvents(collected, now);
    const seconds = this.#lastPollAt === undefined ? 0 : (this.#clock.monotonicNow() - this.#lastPollAt) / 1000;
    this.#lastPollAt = this.#clock.monotonicNow();
    const seen = new Map<string, GroupMemory>();
    for (const g of collected.metrics.groups) {
      // The redrive's own group holds every letter not redriven yet, and no one consumes as it:
      // its lag is the dead-letter topic's backlog, not a consumer falling behind (trial of the
      // packed package: a partial redrive raised lagHigh and consumerStalled for it).
      if (g.group === REDRIVE_GROUP) continue;
      seen.set(`${g.group}\u0000${g.topic}`, this.#groupEvents(g, now, seconds));
    }
    this.#groups = seen; // deleted groups are forgotten
  }

  #shardEvents(shards: Collected['shards'], at: number): void {
    shards.forEach((s, shard) => {
      const before = this.#shards[shard] ?? { restarts: 0, failed: false };
      if (s.restarts > before.restarts) this.emit('shardRestarted', { type: 'shardRestarted', at, shard, restarts: s.restarts });
      if (s.failed && !before.failed) this.emit('shardFailed', { type: 'shardFailed', at, shard, restarts: s.restarts });
    });
    this.#shards = shards.map((s) => ({ ...s }));
  }

  #partitionEvents(collected: AlertInput, at: number): void {
    const blocked = new Set<string>();
    for (const t of collected.metrics.topics) {
      for (const p of t.partitions) {
        if (p.checkpointError === null) continue;
        const key = `${t.topic}/${p.partition}`;
        blocked.add(key);
        if (!this.#blocked.has(key)) this.emit('retentionBlocked', { type: 'retentionBlocked', at, topic: t.topic, partition: p.partition, reason: p.checkpointError });
      }
    }
    this.#blocked = blocked;
    for (const u of collected.metrics.unavailable) {
      const key = `${u.topic}/${u.partition}`;
      if (u.code !== 'FSYNC_FAILED' || this.#syncFailed.has(key)) continue;
      this.#syncFailed.add(key); // a failed log stays failed until the engine is reopened
      this.emit('fsyncFailed', { type: 'fsyncFailed', at, topic: u.topic, partition: u.partition, code: u.code, message: u.message });
    }
  }

  #groupEvents(g: AlertGroupFigures, at: number, seconds: number): GroupMemory {
    const o = this.#o;
    const mono = this.#clock.monotonicNow();
    const redelivered = g.redeliveredAfterNack + g.redeliveredAfterLeaseExpiry;
    const settled = g.acked + g.deadLettered;
    const before = this.#groups.get(`${g.group}\u0000${g.topic}`);
    const base = { topic: g.topic, group: g.group, at };
    // Counters start again when a partition reopens (a worker restart): a drop is no storm and is progress.
    const newRedeliveries = before ? Math.max(0, redelivered - before.redelivered) : 0;
    if (seconds > 0 && newRedeliveries / seconds > o.redeliveriesPerSecond) {
      this.emit('redeliveryStorm', { type: 'redeliveryStorm', ...base, redeliveries: newRedeliveries, perSecond: newRedeliveries / seconds, threshold: o.redeliveriesPerSecond });
    }
    const progressed = !before || settled !== before.settled || g.lag === 0;
    const progressAt = progressed ? mono : before.progressAt;
    const stalledFor = mono - progressAt;
    const stalled = g.lag > 0 && stalledFor >= o.stalledAfterMs;
    if (stalled && !before?.stalled) this.emit('consumerStalled', { type: 'consumerStalled', ...base, lag: g.lag, stalledForMs: stalledFor });
    const lagHigh = g.lag > o.lagMessages || g.lagAgeMs > o.lagAgeMs;
    if (lagHigh && !before?.lagHigh) this.emit('lagHigh', { type: 'lagHigh', ...base, lag: g.lag, lagAgeMs: g.lagAgeMs });
    if (!lagHigh && before?.lagHigh) this.emit('lagRecovered', { type: 'lagRecovered', ...base, lag: g.lag, lagAgeMs: g.lagAgeMs });
    return { redelivered, settled, progressAt, stalled, lagHigh };
  }

  /** Stops the poll; listeners stay registered but hear nothing more. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
