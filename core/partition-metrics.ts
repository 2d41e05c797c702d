// What a partition counts as its state changes (runs on the partition's thread): counters per
// partition and per group, duration histograms, and a bounded buffer of alert events. The actor's
// parts add to it where the change happens (a field add, no allocation, no request); the engine
// reads it with one `stats` command per partition when it is scraped or polled for events.
import { DurationHistogram, emptyHistogram } from './metrics-histogram.ts';

/** Counters of one group on one partition, since the partition opened. */
export interface GroupCounters {
  /** Leases handed out (first deliveries and redeliveries). */
  delivered: number;
  acked: number;
  nacked: number;
  /** Failed attempts that will be delivered again, by what ended them. */
  redeliveredAfterNack: number;
  redeliveredAfterLeaseExpiry: number;
  /** Leases that ran out while a handler held the message (each a failed attempt). */
  leasesExpired: number;
  /** Messages settled by a move to the dead-letter topic (or dropped, without one). */
  deadLettered: number;
}

/** An alert event raised inside a partition: names, offsets, counts, errors; never message bodies. */
export type PartitionEvent =
  | { readonly type: 'deadLettered'; readonly at: number; readonly topic: string; readonly partition: number; readonly group: string; readonly offset: number; readonly attempts: number; readonly deadLetterTopic: string | null; readonly lastError: string | null }
  | { readonly type: 'maxDeliveriesReached'; readonly at: number; readonly topic: string; readonly partition: number; readonly group: string; readonly offset: number; readonly attempts: number; readonly lastError: string | null }
  | { readonly type: 'leaseExpired'; readonly at: number; readonly topic: string; readonly partition: number; readonly group: string; readonly offset: number; readonly attempt: number }
  | { readonly type: 'tornTailCut'; readonly at: number; readonly topic: string; readonly partition: number; readonly kind: 'torn-tail' | 'repair'; readonly segment: string; readonly position: number; readonly droppedBytes: number; readonly atOffset: number }
  | { readonly type: 'diskFull'; readonly at: number; readonly topic: string; readonly partition: number; readonly code: string; readonly message: string };

/** At most one diskFull event per partition this often (a full disk fails every append). */
const DISK_FULL_EVENT_EVERY_MS = 1000;

/** Events a partition keeps until the engine takes them; past it newer ones are dropped and counted. */
export const MAX_PARTITION_EVENTS = 1024;

/** A group's counters, all zero. */
export function zeroCounters(): GroupCounters {
  return { delivered: 0, acked: 0, nacked: 0, redeliveredAfterNack: 0, redeliveredAfterLeaseExpiry: 0, leasesExpired: 0, deadLettered: 0 };
}

/** A histogram that records nothing: the durations of a partition that does not measure them. */
const UNMEASURED: Pick<DurationHistogram, 'record' | 'snapshot'> = Object.freeze({ record: () => {}, snapshot: () => emptyHistogram() });

/** A partition's counters, histograms and pending events. */
export class PartitionMetrics {
  /**
   * Whether durations are measured (Ferry.open's `metrics`): the paths that read the clock only
   * for a duration skip it when false, and the histograms record nothing.
   */
  readonly timed: boolean;
  /** Messages appended (duplicates not included). */
  published = 0;
  /** Messages answered with their original's offset (a retried batch, a repeated id). */
  duplicates = 0;
  /** publish received → durable (the confirm the producer waits for, less the thread hop). */
  readonly confirm: Pick<DurationHistogram, 'record' | 'snapshot'>;
  /** publish → first delivery of each message to a group. */
  readonly deliver: Pick<DurationHistogram, 'record' | 'snapshot'>;
  /** handler took the message → ack or nack. */
  readonly handler: Pick<DurationHistogram, 'record' | 'snapshot'>;
  /** One fsync of the partition's log (all its dirty files). */
  readonly fsync: Pick<DurationHistogram, 'record' | 'snapshot'>;
  /** How long opening the partition took (log recovery and state replay), set by its host. */
  recoveryMs = 0;
  #lastDiskFullAt = Number.NEGATIVE_INFINITY;

  constructor(timed = true) {
    this.timed = timed;
    const histogram = () => (timed ? new DurationHistogram() : UNMEASURED);
    this.confirm = histogram();
    this.deliver = histogram();
    this.handler = histogram();
    this.fsync = histogram();
  }
  readonly #groups = new Map<string, GroupCounters>();
  #events: PartitionEvent[] = [];
  #eventsDropped = 0;

  /** The counters of a group (created at its first count; the group count is bounded by limits.maxGroups). */
  group(name: string): GroupCounters {
    let counters = this.#groups.get(name);
    if (!counters) this.#groups.set(name, (counters = zeroCounters()));
    return counters;
  }

  /** The counters of a group if it counted anything, else zeros (for reading). */
  peekGroup(name: string): GroupCounters {
    return this.#groups.get(name) ?? zeroCounters();
  }

  /** A deleted group's counters go with it. */
  forgetGroup(name: string): void {
    this.#groups.delete(name);
  }

  /** Keeps an event for the engine; past MAX_PARTITION_EVENTS it is dropped and counted. */
  event(e: PartitionEvent): void {
    if (this.#events.length >= MAX_PARTITION_EVENTS) this.#eventsDropped++;
    else this.#events.push(e);
  }

  /** Raises diskFull for an append refused for want of space, at most once every DISK_FULL_EVENT_EVERY_MS. */
  diskFull(topic: string, partition: number, error: unknown, wallNow: number, monoNow: number): void {
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== 'DISK_FULL' || monoNow - this.#lastDiskFullAt < DISK_FULL_EVENT_EVERY_MS) return;
    this.#lastDiskFullAt = monoNow;
    this.event({ type: 'diskFull', at: wallNow, topic, partition, code, message: error instanceof Error ? error.message : String(error) });
  }

  /** Hands the pending events over (and how many were dropped since the last time), emptying the buffer. */
  takeEvents(): { readonly events: PartitionEvent[]; readonly dropped: number } {
    const taken = { events: this.#events, dropped: this.#eventsDropped };
    this.#events = [];
    this.#eventsDropped = 0;
    return taken;
  }
}
