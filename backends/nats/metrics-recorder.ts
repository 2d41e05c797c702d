// What this Ferry instance counts of its own work on NATS (caller's thread): publishes and
// duplicates per partition, each group's deliveries and settles per partition, the latency
// histograms, and the alert events its consumers raise (dead letters, expired leases). The
// servers know none of these: a JetStream consumer keeps gauges (pending, ack pending), not
// counts of acks or NAKs. Like any client's metrics, they cover this process only: sum them
// across processes. Bounded: one entry per topic partition and per group partition this instance
// used, and at most MAX_PARTITION_EVENTS events between two polls (past it they are counted).
import { DurationHistogram, MAX_PARTITION_EVENTS, zeroCounters, type GroupCounters, type PartitionEvent } from '../../core/index.ts';
import type { JetStreamDelivery } from './delivery.ts';

/** Publishes of one partition by this instance. */
export interface PublishCounters {
  published: number;
  duplicates: number;
}

export class NatsRecorder {
  /** publish sent → its PubAck (the confirm). */
  readonly confirm = new DurationHistogram();
  /** The stream's store time → first delivery (attempt 1) to a handler here. */
  readonly deliver = new DurationHistogram();
  /** A handler took the message → its ack or nack was confirmed. */
  readonly handler = new DurationHistogram();
  readonly #topics = new Map<string, Map<number, PublishCounters>>();
  /** group -> topic -> counters (maps, not a joined key: looked up twice per message). */
  readonly #groups = new Map<string, Map<string, { group: string; topic: string; partitions: Map<number, GroupCounters> }>>();
  readonly #redriven = new Map<string, number>();
  #events: PartitionEvent[] = [];
  #eventsDropped = 0;

  /** A confirmed publish (stored, or answered as a duplicate). */
  published(topic: string, partition: number, duplicate: boolean, confirmMs: number): void {
    let parts = this.#topics.get(topic);
    if (!parts) this.#topics.set(topic, (parts = new Map()));
    let c = parts.get(partition);
    if (!c) parts.set(partition, (c = { published: 0, duplicates: 0 }));
    if (duplicate) c.duplicates++;
    else c.published++;
    this.confirm.record(confirmMs);
  }

  /** The counters of `group` on one partition of `topic` (created at its first count). */
  group(group: string, topic: string, partition: number): GroupCounters {
    let topics = this.#groups.get(group);
    if (!topics) this.#groups.set(group, (topics = new Map()));
    let g = topics.get(topic);
    if (!g) topics.set(topic, (g = { group, topic, partitions: new Map() }));
    let c = g.partitions.get(partition);
    if (!c) g.partitions.set(partition, (c = zeroCounters()));
    return c;
  }

  /** `d` was handed to a handler of `group`. */
  delivered(group: string, d: JetStreamDelivery): void {
    this.group(group, d.topic, d.partition).delivered++;
    if (d.attempt === 1) this.deliver.record(Date.now() - d.publishedAt);
  }

  /** `d`'s ack or nack was confirmed (`dead`: the nack of its last attempt moved it to the dead-letter topic). */
  settled(group: string, d: JetStreamDelivery, outcome: 'acked' | 'nacked' | 'dead', nowMs: number): void {
    const c = this.group(group, d.topic, d.partition);
    this.handler.record(nowMs - d.takenAt);
    if (outcome === 'acked') c.acked++;
    else c.nacked++;
    if (outcome === 'nacked') c.redeliveredAfterNack++;
  }

  /** `d`'s lease ran out while a handler here held it: a failed attempt, redelivered unless it was the last. */
  expired(group: string, d: JetStreamDelivery): void {
    const c = this.group(group, d.topic, d.partition);
    c.leasesExpired++;
    if (d.attempt < d.options.maxDeliveries) c.redeliveredAfterLeaseExpiry++;
    this.event({ type: 'leaseExpired', at: Date.now(), topic: d.topic, partition: d.partition, group, offset: d.offset, attempt: d.attempt });
  }

  /** `d` failed its last attempt: its move to the dead-letter topic begins. */
  maxDeliveriesReached(group: string, d: JetStreamDelivery, attempts: number, lastError: string | null): void {
    this.event({ type: 'maxDeliveriesReached', at: Date.now(), topic: d.topic, partition: d.partition, group, offset: d.offset, attempts, lastError });
  }

  /** `d` is in its dead-letter topic (or dropped, without one) and terminated in its stream. */
  deadLettered(group: string, d: JetStreamDelivery, attempts: number, lastError: string | null): void {
    this.group(group, d.topic, d.partition).deadLettered++;
    this.event({ type: 'deadLettered', at: Date.now(), topic: d.topic, partition: d.partition, group, offset: d.offset, attempts, deadLetterTopic: d.options.deadLetter === false ? null : d.options.deadLetter, lastError });
  }

  redriven(deadLetterTopic: string, moved: number): void {
    this.#redriven.set(deadLetterTopic, (this.#redriven.get(deadLetterTopic) ?? 0) + moved);
  }

  /** Keeps an event for the next poll; past MAX_PARTITION_EVENTS it is dropped and counted. */
  event(e: PartitionEvent): void {
    if (this.#events.length >= MAX_PARTITION_EVENTS) this.#eventsDropped++;
    else this.#events.push(e);
  }

  /** Hands the pending events over, emptying the buffer. */
  takeEvents(): { readonly events: PartitionEvent[]; readonly dropped: number } {
    const taken = { events: this.#events, dropped: this.#eventsDropped };
    this.#events = [];
    this.#eventsDropped = 0;
    return taken;
  }

  /** This instance's publishes of `topic`, per partition (sorted). */
  publishesOf(topic: string): { partition: number; published: number; duplicates: number }[] {
    return [...(this.#topics.get(topic) ?? [])].map(([partition, c]) => ({ partition, ...c })).sort((a, b) => a.partition - b.partition);
  }

  redrivenOf(topic: string): number {
    return this.#redriven.get(topic) ?? 0;
  }

  /** Every group this instance counted for, with its counters per partition (sorted). */
  groups(): { group: string; topic: string; partitions: (GroupCounters & { partition: number })[] }[] {
    return [...this.#groups.values()].flatMap((topics) => [...topics.values()]).map(({ group, topic, partitions }) => ({
      group,
      topic,
      partitions: [...partitions].map(([partition, c]) => ({ ...c, partition })).sort((a, b) => a.partition - b.partition),
    }));
  }
}
