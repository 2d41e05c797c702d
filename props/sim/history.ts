// The history checker (in the style of Jepsen's queue checkers): the simulator reports every
// publish, confirmation, delivery, settle, dead letter and redrive here, and each guarantee of
// DESIGN.md is checked against what was observed. Every rule must be sound under the faults the
// simulator injects: what an observer cannot know (a lease on a lost reply, a failed ack that
// may have taken effect) widens a rule rather than being guessed.
//
// Messages are named by value (one per publish call) and by identity `topic/partition@offset`
// (a redrive copies a value to a new identity).
import type { Delivery } from '../../core/consumer.ts';
import type { PublishResult } from '../../core/producer.ts';
import { GROUPS } from './workload.ts';

export interface Violation {
  readonly check: string;
  readonly detail: string;
}

interface Published {
  readonly topic: string;
  readonly key: string | undefined;
  readonly calledAt: number;
  readonly delayMs: number;
  /** Set once confirmed. */
  identity?: string;
}

interface GroupHistory {
  readonly topics: readonly string[];
  readonly ordering: 'none' | 'key' | 'partition';
  /** Identities whose ack resolved (durable): never to be delivered again. */
  readonly acked: Set<string>;
  /** Identities with an ack issued, whatever came of it (a failed ack may still have taken effect). */
  readonly issued: Set<string>;
  /** Identities surely waiting for a retry, until the virtual time given. */
  readonly retrying: Map<string, number>;
  /** Identities delivered, with the number of deliveries seen. */
  readonly delivered: Map<string, number>;
  /** Identities leased in replies that never reached the consumer (a lost network reply). */
  readonly unseen: Set<string>;
  /** Dead letters seen for this group: origin identity -> attempts. */
  readonly dead: Map<string, number>;
  /** After a durable nack of attempt a, no delivery may carry an attempt below a + 1. */
  readonly minAttempt: Map<string, number>;
  /**
   * The latest delivery seen of each identity: its attempt, a monotonic time at or before its
   * handler took it (its lease starts later), whether a nack of it was issued since.
   */
  readonly lastSeen: Map<string, { attempt: number; takenAfter: number; nacked: boolean }>;
  /**
   * When a member last died (a crash kills them all): what it held, leased but unseen, may have
   * run out its attempts into a dead letter. Only messages published before then can be among it.
   */
  lostAt: number;
}

export const identityOf = (topic: string, partition: number, offset: number): string => `${topic}/${partition}@${offset}`;

/** Records a run's history and checks it. */
export class History {
  readonly violations: Violation[] = [];
  readonly #event: (line: string) => void;
  readonly #maxDeliveries: ReadonlyMap<string, number>;
  readonly #published = new Map<number, Published>();
  /** What each identity holds, once seen (confirmed or delivered). */
  readonly #valueAt = new Map<string, number>();
  /** Message ids of confirmed publishes; values that repeated one are never to be delivered. */
  readonly #confirmedIds = new Map<string, { value: number; identity: string }>();
  readonly #repeats = new Set<number>();
  /**
   * Ids repeated while their original was on its way (an 'early' repeat): every value that went
   * with the id. Any one of them may be the one stored (the original may never be), but the id
   * is stored at one identity only, and a confirmation as a duplicate is a promise that it is there.
   */
  readonly #idValues = new Map<string, Set<number>>();
  /** The one identity each such id was confirmed at (stored, or answered as a duplicate of). */
  readonly #idStoredAt = new Map<string, string>();
  /** Identities a value was confirmed at as a duplicate of its id: each must hold a message with that id. */
  readonly #holdsId = new Map<string, string>();
  readonly #groups = new Map<string, GroupHistory>();
  /** The group each redriven copy is for (the first, and only, to receive it). */
  readonly #copyGroup = new Map<string, string>();
  /** Groups that dead-lettered each value (from the letters read). */
  readonly #deadGroups = new Map<number, Set<string>>();
  /** Distinct identities of dead letters (in dead-letter topics) per value, and copies made by redrive. */
  readonly #letters = new Map<number, Set<string>>();
  readonly #copies = new Map<number, Set<string>>();
  #redriven = 0;

  constructor(maxDeliveries: ReadonlyMap<string, number>, event: (line: string) => void) {
    this.#maxDeliveries = maxDeliveries;
    this.#event = event;
    for (const g of GROUPS) {
      this.#groups.set(g.name, { topics: g.topics, ordering: g.ordering, acked: new Set(), issued: new Set(), retrying: new Map(), delivered: new Map(), unseen: new Set(), dead: new Map(), minAttempt: new Map(), lastSeen: new Map(), lostAt: Number.NEGATIVE_INFINITY });
    }
  }

  violate(check: string, detail: string): void {
    this.violations.push({ check, detail });
    this.#event(`VIOLATION ${check}: ${detail}`);
  }

  /** Ids of confirmed messages, for repeats. */
  confirmedIds(): string[] {
    return [...this.#confirmedIds.keys()];
  }

  keyOfId(id: string): string | undefined {
    return this.#published.get(this.#confirmedIds.get(id)!.value)?.key;
  }

  published(value: number, p: { topic: string; key: string | undefined; calledAt: number; delayMs: number; repeatOf?: string | undefined; early?: { id: string; original: number } }): void {
    if (p.repeatOf !== undefined) return void this.#repeats.add(value);
    this.#published.set(value, { topic: p.topic, key: p.key, calledAt: p.calledAt, delayMs: p.delayMs });
    if (p.early) {
      let values = this.#idValues.get(p.early.id);
      if (!values) this.#idValues.set(p.early.id, (values = new Set([p.early.original])));
      values.add(value);
    }
  }

  confirmed(value: number, id: string | undefined, r: PublishResult): void {
    if (this.#repeats.has(value)) {
      const original = this.#confirmedIds.get(id!)!;
      if (!r.duplicate || identityOf(r.topic, r.partition, r.offset) !== original.identity) this.violate('dedupe', `value ${value} repeated id ${id} (v${original.value} at ${original.identity}) but got ${JSON.stringify(r)}`);
      this.#event(`duplicate v${value} of ${id}`);
      return;
    }
    if (!Number.isSafeInteger(r.offset) || r.offset < 0) return this.violate('confirmed means stored', `v${value} was confirmed without a place in the log: ${JSON.stringify(r)}`);
    const identity = identityOf(r.topic, r.partition, r.offset);
    if (id !== undefined && this.#idValues.has(id)) {
      this.#idAt(id, identity, `v${value} confirmed`);
      if (r.duplicate) {
        // Stored as one of the id's values, maybe not this one: it must be there all the same.
        this.#holdsId.set(identity, id);
        return this.#event(`duplicate v${value} of ${id} at ${identity}`);
      }
    }
    this.#published.get(value)!.identity = identity;
    this.#sawValue(identity, value, 'confirmed');
    if (id !== undefined && !r.duplicate) this.#confirmedIds.set(id, { value, identity });
    this.#event(`confirmed v${value} ${identity}`);
  }

  /** An id repeated early is stored at one identity only. */
  #idAt(id: string, identity: string, how: string): void {
    const at = this.#idStoredAt.get(id);
    if (at === undefined) this.#idStoredAt.set(id, identity);
    else if (at !== identity) this.violate('dedupe', `id ${id} is at ${at}, yet ${how} at ${identity} (stored twice, or confirmed where it is not)`);
  }

  #sawValue(identity: string, value: number, how: string): void {
    const known = this.#valueAt.get(identity);
    if (known === undefined) this.#valueAt.set(identity, value);
    else if (known !== value) this.violate('nothing unexpected', `${identity} held v${known}, then ${how} v${value} (a corrupt or misplaced message)`);
  }

  /**
   * A delivery reached a member of `group` at virtual time `now` (wall), from a topic whose leases
   * last `ackTimeoutMs`. On the monotonic clock, which wall-clock jumps do not move: it is seen at
   * `mono.now`, from a next() called at `mono.calledAt` (when a handler took it at the latest).
   */
  delivered(group: string, d: Delivery<number>, now: number, mono: { readonly calledAt: number; readonly now: number }, ackTimeoutMs: number): void {
    const identity = identityOf(d.topic, d.partition, d.offset);
    this.#event(`deliver ${group} v${d.value} ${identity} a${d.attempt} k${d.key ?? '-'}`);
    const h = this.#groups.get(group)!;
    const p = this.#published.get(d.value);
    if (!p && !this.#repeats.has(d.value)) this.violate('nothing unexpected', `${group} got value ${d.value}, never published`);
    if (this.#repeats.has(d.value)) this.violate('dedupe', `${group} got value ${d.value}, which repeated a confirmed message id`);
    if (p && p.topic !== d.topic) this.violate('nothing unexpected', `${group} got value ${d.value} from ${d.topic}, published to ${p.topic}`);
    if (!h.topics.includes(d.topic)) this.violate('nothing unexpected', `${group} got a message of ${d.topic}, which it does not consume`);
    this.#sawValue(identity, d.value, 'delivered');
    const promised = this.#holdsId.get(identity);
    if (promised !== undefined && d.id !== promised) this.violate('confirmed means stored', `${identity} was confirmed as holding id ${promised} (a repeat of it was answered with this place), but holds v${d.value} with id ${d.id ?? 'none'}`);
    // A redrive's copy keeps its original's id (and says where it came from in a header).
    const redriven = d.headers?.['ferry-redriven-from'] !== undefined;
    if (d.id !== undefined && this.#idValues.has(d.id) && !redriven) this.#idAt(d.id, identity, `v${d.value} delivered`);
    if (redriven || (p?.identity !== undefined && p.identity !== identity)) this.#copy(d.value, identity);
    if (redriven) {
      // A redriven copy goes back to the group that dead-lettered it, and to no other.
      const only = this.#copyGroup.get(identity);
      if (only === undefined) this.#copyGroup.set(identity, group);
      else if (only !== group) this.violate('redrive returns a letter to its group', `${identity} (v${d.value}), a redriven copy, reached ${only} and ${group}`);
    }
    if (h.acked.has(identity)) this.violate('acks are never undone', `${group} got ${identity} (v${d.value}) again after its ack was confirmed`);
    if (p && p.identity === identity && d.attempt === 1 && now < p.calledAt + p.delayMs) this.violate('delays', `${group} got v${d.value} at ${now}, before its delay ended at ${p.calledAt + p.delayMs}`);
    this.#checkOrder(group, h, d, identity, now);
    h.retrying.delete(identity);
    h.unseen.delete(identity);
    const min = h.minAttempt.get(identity) ?? 0;
    if (d.attempt < min) this.violate('attempt counts are durable', `${group} got ${identity} with attempt ${d.attempt} after a durable nack of attempt ${min - 1}`);
    // Each earlier delivery to a handler can have charged one attempt at most; a message that
    // only waited in a consumer's buffer (or whose fetch reply was lost) is never charged.
    const prior = h.delivered.get(identity) ?? 0;
    if (d.attempt > prior + 1) this.violate('attempts count only what handlers held', `${group} got ${identity} (v${d.value}) with attempt ${d.attempt} after ${prior} deliveries to a handler`);
    // An attempt is charged only for a failure: a nack, or a lease its handler held for
    // ackTimeoutMs of monotonic time, whatever the wall clock did meanwhile. The lease starts once
    // the handler has the message, so after the next() that returned it was called.
    const last = h.lastSeen.get(identity);
    if (last && d.attempt > last.attempt && !last.nacked && mono.now - last.takenAfter < ackTimeoutMs) {
      this.violate('attempts count failures only', `${group} got ${identity} with attempt ${d.attempt} at most ${mono.now - last.takenAfter} ms after its handler took attempt ${last.attempt}, which it never nacked (leases last ${ackTimeoutMs} ms)`);
    }
    h.lastSeen.set(identity, { attempt: d.attempt, takenAfter: mono.calledAt, nacked: false });
    h.delivered.set(identity, (h.delivered.get(identity) ?? 0) + 1);
  }

  /**
   * Order: in a 'key' group, a message must not be delivered while an earlier one of its key (same
   * partition, so log order) waits for its retry, or was confirmed and never delivered. A
   * 'partition' group orders all of a partition's messages alike.
   */
  #checkOrder(group: string, h: GroupHistory, d: Delivery<number>, identity: string, now: number): void {
    if (h.ordering === 'none') return;
    const orderKey = (key: string | undefined): string | undefined => (h.ordering === 'partition' ? '' : key);
    const mine = orderKey(d.key);
    if (mine === undefined) return;
    for (const [v, q] of this.#published) {
      if (q.identity === undefined || v === d.value || q.topic !== d.topic || orderKey(q.key) !== mine) continue;
      const [, partition, offset] = /\/(\d+)@(\d+)$/.exec(q.identity)!.map(Number);
      if (partition !== d.partition || offset! >= d.offset) continue;
      if ((h.retrying.get(q.identity) ?? Number.NEGATIVE_INFINITY) > now) this.violate('order', `${group} got ${identity} while ${q.identity} (same ${h.ordering}) was waiting for its retry`);
      else if (!h.delivered.has(q.identity) && !h.unseen.has(q.identity) && q.calledAt > h.lostAt && !h.dead.has(q.identity)) this.violate('order', `${group} got ${identity} before ${q.identity} (same ${h.ordering}) was ever delivered`);
    }
  }

  /** A delivery to the corruption audit: whatever it returns must be what was stored there. */
  audited(d: Delivery<number>): void {
    this.#sawValue(identityOf(d.topic, d.partition, d.offset), d.value, 'audited');
  }

  /** Messages leased in a fetch reply that was lost on the way: leased, but never seen. */
  unseen(group: string, identities: readonly string[]): void {
    const h = this.#groups.get(group);
    if (!h) return;
    for (const i of identities) h.unseen.add(i);
    this.#event(`lost reply ${group} ${identities.join(' ')}`);
  }

  /** A member of `group` (every group's, when `group` is omitted) died at `now`. */
  memberLost(now: number, group?: string): void {
    for (const [name, h] of this.#groups) if (group === undefined || name === group) h.lostAt = now;
  }

  /** Whether a newer delivery of the same message reached the group after `d`. */
  superseded(group: string, d: Delivery<number>, seenAtDelivery: number): boolean {
    return (this.#groups.get(group)!.delivered.get(identityOf(d.topic, d.partition, d.offset)) ?? 0) > seenAtDelivery;
  }

  deliveriesSeen(group: string, d: Delivery<number>): number {
    return this.#groups.get(group)!.delivered.get(identityOf(d.topic, d.partition, d.offset)) ?? 0;
  }

  ackIssued(group: string, d: Delivery<number>): void {
    const identity = identityOf(d.topic, d.partition, d.offset);
    const h = this.#groups.get(group)!;
    h.issued.add(identity);
    h.retrying.delete(identity);
  }

  ackResolved(group: string, d: Delivery<number>): void {
    this.#groups.get(group)!.acked.add(identityOf(d.topic, d.partition, d.offset));
  }

  /** A nack was issued for `d` (whatever comes of it: a failed nack may still have taken effect). */
  nackIssued(group: string, d: Delivery<number>): void {
    const last = this.#groups.get(group)!.lastSeen.get(identityOf(d.topic, d.partition, d.offset));
    if (last) last.nacked = true;
  }

  /** A nack issued at `at` (seeing `seen` deliveries of it) resolved: it is durable. */
  nackResolved(group: string, d: Delivery<number>, at: number, seen: number, backoffMs: number, ackTimeoutMs: number): void {
    const identity = identityOf(d.topic, d.partition, d.offset);
    const h = this.#groups.get(group)!;
    // Unless its retry was seen meanwhile (the nack's durability can come after it).
    if (d.attempt < this.#maxDeliveries.get(d.topic)! && h.delivered.get(identity) === seen) h.retrying.set(identity, at + backoffMs + ackTimeoutMs);
    h.minAttempt.set(identity, Math.max(h.minAttempt.get(identity) ?? 0, d.attempt + 1));
  }

  /** A dead letter, read from a dead-letter topic by the operators' group. */
  letter(d: Delivery<number>): void {
    const info = d.deadLetter!;
    const origin = identityOf(info.topic, info.partition, info.offset);
    this.#event(`dead ${info.group} v${d.value} ${origin} a${info.attempts}`);
    let letters = this.#letters.get(d.value);
    if (!letters) this.#letters.set(d.value, (letters = new Set()));
    letters.add(identityOf(d.topic, d.partition, d.offset));
    const h = this.#groups.get(info.group);
    if (!h) return this.violate('dead letters', `letter for unknown group ${info.group}`);
    if (h.dead.has(origin)) this.violate('dead letters once', `${info.group} ${origin} (v${d.value}) dead-lettered twice`);
    const max = this.#maxDeliveries.get(info.topic);
    if (info.attempts !== max) this.violate('dead letters after maxDeliveries', `${info.group} ${origin} (v${d.value}) dead after ${info.attempts} attempts, not ${max}`);
    this.#sawValue(origin, d.value, 'dead-lettered');
    h.dead.set(origin, info.attempts);
    let groups = this.#deadGroups.get(d.value);
    if (!groups) this.#deadGroups.set(d.value, (groups = new Set()));
    groups.add(info.group);
    const p = this.#published.get(d.value);
    if (p?.identity !== undefined && p.identity !== origin) this.#copy(d.value, origin);
  }

  #copy(value: number, identity: string): void {
    let copies = this.#copies.get(value);
    if (!copies) this.#copies.set(value, (copies = new Set()));
    copies.add(identity);
  }

  redriven(count: number): void {
    this.#redriven += count;
    this.#event(`redrove ${count}`);
  }

  /**
   * What must still be settled: every confirmed message, and any delivered one (a delivered
   * message must never vanish), by every group that consumes its topic: an ack issued or a letter.
   */
  unsettled(): string[] {
    const out: string[] = [];
    const due = new Set<string>();
    for (const p of this.#published.values()) if (p.identity !== undefined) due.add(p.identity);
    for (const identity of this.#holdsId.keys()) due.add(identity);
    for (const h of this.#groups.values()) for (const i of h.delivered.keys()) due.add(i);
    for (const identity of due) {
      const topic = identity.slice(0, identity.indexOf('/'));
      const only = this.#copyGroup.get(identity); // a redriven copy is due for its group only
      for (const [name, h] of this.#groups) if (h.topics.includes(topic) && (only === undefined || only === name) && !h.issued.has(identity) && !h.dead.has(identity)) out.push(`${name}:${identity}`);
    }
    const missing = this.#redriven - this.#copyCount();
    if (missing > 0) out.push(`${missing} redriven copies never seen`);
    return out;
  }

  #copyCount(): number {
    let n = 0;
    for (const set of this.#copies.values()) n += set.size;
    return n;
  }

  /** The checks that need the whole history, after the liveness phase. */
  finish(): void {
    const left = this.unsettled();
    if (left.length > 0) this.violate('no loss (liveness)', `confirmed or delivered but never acked or dead-lettered: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ` and ${left.length - 10} more` : ''}`);
    // Redrive moves each letter once: a value has no more copies than letters.
    for (const [value, set] of this.#copies) {
      const letters = this.#letters.get(value)?.size ?? 0;
      if (set.size > letters) this.violate('redrive once', `v${value} has ${set.size} copies (${[...set].join(', ')}) from ${letters} dead letters`);
    }
    for (const [identity, group] of this.#copyGroup) {
      const value = this.#valueAt.get(identity);
      if (value !== undefined && !this.#deadGroups.get(value)?.has(group)) this.violate('redrive returns a letter to its group', `${identity} (v${value}) was redriven to ${group}, which never dead-lettered it`);
    }
    if (this.#copyCount() < this.#redriven) this.violate('redrive', `redrive reported ${this.#redriven} letters moved, but only ${this.#copyCount()} copies were ever seen`);
  }
}
