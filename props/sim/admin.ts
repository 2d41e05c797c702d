// The simulator's admin workload (issue 12): group resets (to the earliest or latest message, an
// offset, a time), group deletes and topic deletes, on a topic and group of their own (`rs`,
// `rg`), over the same faulty network and disk as the rest of the run, crashes included. Checks:
// after a reset the group gets exactly the messages from the point on; no acked message returns
// unless a reset (or a delete) asked for it; a crash (or a lost reply) during a reset leaves each
// partition at the old position or the new one, never a mix; a deleted topic's messages never
// return. Lazy: a run whose workload has no admin operation never touches any of it, so the seeds
// of runs before it still mean what they meant.
//
// The model keeps, per partition, the positions the group may be at ("candidates": one, or two
// after a reset whose outcome is unknown). A candidate says the floor (offsets below it are
// skipped; a range [lo, hi] while the engine's answer is unknown) and the acks since. A delivery
// must fit some candidate; those it does not fit are dropped; at the end one must have everything.
import type { Consumer, Delivery } from '../../core/consumer.ts';
import type { Ferry } from '../../core/ferry.ts';
import type { GroupPosition } from '../../core/group-position.ts';
import type { Producer } from '../../core/producer.ts';
import type { ManualClock } from '../../wal/index.ts';
import { flush } from '../../test-support/memory-ferry.ts';

/** Admin operations of the workload. */
export type AdminOp =
  | { readonly op: 'rsPublish'; readonly count: number }
  | { readonly op: 'rsConsume'; readonly count: number }
  /** `nth` picks, for a time, the publish time of a confirmed message (or now when there is none). */
  | { readonly op: 'rsReset'; readonly to: 'earliest' | 'latest' | 'offset' | 'time'; readonly nth: number }
  | { readonly op: 'rsDeleteGroup' }
  | { readonly op: 'rsDeleteTopic' };

export const ADMIN_TOPIC = 'rs';
export const ADMIN_GROUP = 'rg';
const PARTITIONS = 2;
interface Candidate {
  /** The group's floor on the partition lies in [lo, hi]: nothing below lo comes, everything from hi on must. */
  lo: number;
  hi: number;
  /** Values from this one on were published after the position was taken: each is delivered (publishes wait while a call is pending). */
  readonly since: number;
  /** Offsets whose ack resolved since this position was taken. */
  readonly acked: Set<number>;
  /** Offsets with an ack issued since, whatever came of it (a failed ack may still have taken effect). */
  readonly issued: Set<number>;
}

interface Stored {
  readonly partition: number;
  readonly offset: number;
  readonly calledAt: number;
  readonly confirmedAt: number;
}

type Outcome = 'refused' | 'unknown' | { readonly to: ReadonlyMap<number, number> };

/** Errors that prove an admin call changed nothing. */
const REFUSALS = new Set(['GROUP_IN_USE', 'TOPIC_IN_USE', 'UNKNOWN_GROUP', 'UNKNOWN_TOPIC', 'INVALID_ARGUMENT']);

export interface AdminHost {
  readonly clock: ManualClock;
  readonly violate: (check: string, detail: string) => void;
  readonly event: (line: string) => void;
  /** Awaits a promise while the disk's syncs complete (bounded). */
  readonly drive: <T>(p: Promise<T>) => Promise<T>;
  /** Completes every pending sync until the engine is idle. */
  readonly quiesce: () => Promise<void>;
  /** The network's longest delay of a message (ms): past it, no copy of a request is on its way. */
  readonly maxDelayMs: number;
  /** Whether the network duplicates requests (a reset may then be applied twice, resolved twice). */
  readonly mayDuplicate: boolean;
}

/** The admin part of a simulation run. */
export class AdminWorkload {
  readonly #h: AdminHost;
  readonly counts = { resets: 0, resetsInDoubt: 0, groupDeletes: 0, topicDeletes: 0, adminDeliveries: 0 };
  #used = false;
  #ferry: Ferry | undefined;
  #producer: Producer | undefined;
  #consumer: Consumer<number> | undefined;
  #waiting: Promise<Delivery<number> | undefined> | undefined;
  /** Whether `rs` exists in this generation (created, and not deleted since). */
  #exists = false;
  #next = 0;
  /** Publishes not settled, and the monotonic time after which no copy of a settled one is on its way. */
  #inFlight = 0;
  #quietAfter = 0;
  /** The same for the last admin call: the group is joined again only after it (a reset's duplicate must not land on a rejoined group). */
  #rejoinAfter = 0;
  /** An admin call not settled yet (the group stays without members meanwhile). */
  #pending: { readonly undo: () => void } | undefined;
  /**
   * A call failed on the disk (a failed sync, a full disk): the engine may hold in memory what
   * a crash takes back, so the topic is left alone until the next open decides.
   */
  #frozen = false;
  /** Bumped at each reset or delete: an ack issued before one is not credited after it. */
  #epoch = 0;
  /** Messages of the topic's current generation, by value, once confirmed. */
  #stored = new Map<number, Stored>();
  /** Values published to the current generation and not confirmed: maybe stored, maybe not. */
  #maybe = new Set<number>();
  /** Values of deleted generations: never to be delivered again. */
  readonly #gone = new Set<number>();
  #parts: Candidate[][] = fresh();
  /** What a crash left undecided, decided once the engine has reopened (from its catalog). */
  readonly #afterCrash: (() => void)[] = [];

  constructor(host: AdminHost) {
    this.#h = host;
  }

  /** After each open: nothing before the first admin operation; then the producer, and the consumer unless a call is pending. */
  async opened(ferry: Ferry): Promise<void> {
    this.#ferry = ferry;
    this.#consumer = undefined;
    this.#waiting = undefined;
    this.#frozen = false;
    if (!this.#used) return;
    for (const decide of this.#afterCrash.splice(0)) decide();
    this.#producer = ferry.producer();
    this.#exists = ferry.topics().some((t) => t.name === ADMIN_TOPIC);
  }

  /** The process died: a pending call is decided by what reached the disk. */
  crashed(): void {
    this.#inFlight = 0; // their replies died with the process
    this.#consumer = undefined;
    this.#waiting = undefined;
    this.#epoch++; // acks of the dead process are never credited
    this.#pending?.undo();
    this.#pending = undefined;
  }

  async #ensureTopic(ferry: Ferry): Promise<boolean> {
    if (!this.#used) {
      this.#used = true;
      this.#producer = ferry.producer();
    }
    if (this.#exists) return true;
    try {
      await this.#h.drive(ferry.createTopic(ADMIN_TOPIC, { partitions: PARTITIONS, maxDeliveries: 1000, ackTimeoutMs: 1000, backoff: { kind: 'fixed', delayMs: 50 }, dedupWindowMs: 3_600_000 }));
      this.#exists = true;
    } catch (error) {
      this.#h.event(`rs create failed ${(error as { code?: string }).code}`);
    }
    return this.#exists;
  }

  async apply(op: AdminOp, ferry: Ferry): Promise<void> {
    if (this.#frozen) return this.#h.event(`rs ${op.op} skipped (the engine's disk failed: waiting for a restart)`);
    if (!(await this.#ensureTopic(ferry))) return;
    switch (op.op) {
      case 'rsPublish':
        // Not while an admin call may still land: the `since` rule needs publishes after it to come after it.
        if (this.#pending || this.#h.clock.monotonicNow() < this.#rejoinAfter) return this.#h.event('rs publish skipped (an admin call may still land)');
        return this.#publish(op.count);
      case 'rsConsume':
        for (let i = 0; i < op.count; i++) if (!(await this.#consumeOne(ferry))) return;
        return;
      case 'rsReset':
        return this.#admin(ferry, `reset to ${op.to}`, () => ferry.resetGroup(ADMIN_GROUP, ADMIN_TOPIC, { to: 'earliest' }), 'GROUP_IN_USE', (f, live) => this.#reset(f, live, op));
      case 'rsDeleteGroup':
        return this.#admin(ferry, 'delete group', () => ferry.deleteGroup(ADMIN_GROUP), 'GROUP_IN_USE', (f, live) => this.#deleteGroup(f, live));
      case 'rsDeleteTopic':
        if (!(await this.#quiet())) return this.#h.event('rs delete topic skipped (a publish is on its way)');
        return this.#admin(ferry, 'delete topic', () => ferry.deleteTopic(ADMIN_TOPIC), 'TOPIC_IN_USE', (f, live) => this.#deleteTopic(f, live));
    }
  }

  #publish(count: number): void {
    const values = Array.from({ length: count }, () => this.#next++);
    const calledAt = this.#h.clock.now();
    const producer = this.#producer!;
    this.#inFlight++;
    for (const v of values) this.#maybe.add(v);
    const generation = this.#generation;
    this.#h.event(`rs publish ${values.map((v) => `r${v}`).join(' ')}`);
    producer.publishMany(ADMIN_TOPIC, values.map((value) => ({ value, id: `r${value}` }))).then(
      (results) => {
        if (generation !== this.#generation) return; // settled after its topic went
        this.#settledPublish();
        results.forEach((r, i) => {
          this.#maybe.delete(values[i]!);
          this.#stored.set(values[i]!, { partition: r.partition, offset: r.offset, calledAt, confirmedAt: this.#h.clock.now() });
        });
      },
      (e: unknown) => {
        if (generation !== this.#generation) return;
        this.#settledPublish();
        this.#h.event(`rs publish failed ${values.map((v) => `r${v}`).join(' ')} ${(e as { code?: string }).code}`);
      },
    );
  }

  #settledPublish(): void {
    this.#inFlight--;
    this.#quietAfter = this.#h.clock.monotonicNow() + this.#h.maxDelayMs + 1;
  }

  /** Bumped by a crash and a topic's deletion: what settles after one belongs to no one. */
  #generation = 0;

  async #consumeOne(ferry: Ferry): Promise<boolean> {
    if (this.#pending || this.#h.clock.monotonicNow() < this.#rejoinAfter) return false;
    this.#consumer ??= ferry.consumer<number>(ADMIN_GROUP, { topics: [ADMIN_TOPIC], maxInFlight: 4, pollWaitMs: 200 });
    let got: Delivery<number> | undefined;
    this.#waiting ??= this.#consumer.next();
    const waiting = this.#waiting;
    void waiting.then((d) => (got = d), () => (this.#waiting = this.#waiting === waiting ? undefined : this.#waiting));
    await flush(3);
    if (!got) return false;
    this.#waiting = undefined;
    this.#delivered(got);
    return true;
  }

  #delivered(d: Delivery<number>): void {
    this.counts.adminDeliveries++;
    const { value, partition: p, offset: o } = d;
    this.#h.event(`rs deliver r${value} ${p}@${o} a${d.attempt}`);
    if (this.#gone.has(value)) return this.#h.violate('a deleted topic stays deleted', `r${value} (${p}@${o}) was delivered after its topic was deleted`);
    const stored = this.#stored.get(value);
    if (!stored && !this.#maybe.has(value)) return this.#h.violate('nothing unexpected', `${ADMIN_GROUP} got r${value}, never published to this ${ADMIN_TOPIC}`);
    if (stored && (stored.partition !== p || stored.offset !== o)) this.#h.violate('nothing unexpected', `r${value} was confirmed at ${stored.partition}@${stored.offset} and delivered from ${p}@${o}`);
    const all = this.#parts[p]!;
    const fits = all.filter((c) => o >= c.lo && !c.acked.has(o));
    if (fits.length === 0) {
      const below = all.every((c) => o < c.lo);
      this.#h.violate(
        below ? 'a reset skips what is before its point' : 'no acked message returns unless a reset asks for it',
        `${ADMIN_GROUP} got ${p}@${o} (r${value}), ${below ? `below its position (${all.map((c) => c.lo).join(' or ')})` : 'whose ack had resolved, with no reset since'}`,
      );
    } else {
      for (const c of fits) c.hi = Math.min(c.hi, o); // the floor is at or below a delivered offset
      this.#parts[p] = fits;
    }
    const epoch = this.#epoch;
    const generation = this.#generation;
    for (const c of this.#parts[p]!) c.issued.add(o);
    d.ack().then(
      () => {
        if (epoch !== this.#epoch || generation !== this.#generation) return;
        for (const c of this.#parts[p]!) c.acked.add(o);
      },
      () => {},
    );
  }

  /**
   * Runs an admin call on a group with no members, unless an earlier call is pending. Publishes
   * may be on their way: one that lands after the call is judged by where it landed (its confirmed
   * offset against the position the call reports). The consumer is closed first (abandoned if its
   * close hangs on the network); before that, the same call must be refused with `inUse` (the
   * typed error, and nothing changed). The call's outcome is applied when it settles, perhaps
   * operations later.
   */
  async #admin(ferry: Ferry, what: string, probe: () => Promise<unknown>, inUse: string, call: (ferry: Ferry, live: () => boolean) => { run: Promise<Outcome>; undo: () => void }): Promise<void> {
    if (this.#pending) return this.#h.event(`rs ${what} skipped (a call is pending)`);
    // Nor while a copy of the last call may still land (the network duplicates requests): a late
    // reset to offset 2 would undo a reset to the latest made after it (fresh seed 856070170).
    this.#advanceTo(this.#rejoinAfter);
    const consumer = this.#consumer;
    if (consumer) {
      // Refused before any partition hears of it (the engine knows its members): no doubt to model.
      const refusal = await probe().then(
        () => 'it was carried out',
        (e: unknown) => ((e as { code?: string }).code === inUse ? undefined : `it failed with ${(e as { code?: string }).code ?? String(e)}`),
      );
      if (refusal !== undefined) this.#h.violate('admin is refused while the group has members', `${what} with a consumer of ${ADMIN_GROUP} open was not refused with ${inUse}: ${refusal}`);
      const closing = consumer.close({ timeoutMs: 0 });
      closing.catch(() => {});
      let closed = false;
      void closing.finally(() => (closed = true));
      await flush(10);
      if (!closed) consumer.abandon();
      this.#consumer = undefined;
      this.#waiting = undefined;
    }
    this.#epoch++;
    this.#h.event(`rs ${what}`);
    const pending: { undo: () => void } = { undo: () => {} };
    this.#pending = pending;
    // An outcome that settles after a crash settles in the dead process: the reopen decides it.
    const { run, undo } = call(ferry, () => this.#pending === pending);
    pending.undo = undo;
    void run.then((outcome) => {
      if (this.#pending !== pending) return;
      this.#pending = undefined;
      this.#rejoinAfter = this.#h.clock.monotonicNow() + this.#h.maxDelayMs + 1;
      if (outcome === 'unknown') undo();
    });
    // An operator waits for the call: the disk completes its syncs (time moves only with the
    // workload, so a delayed or lost message still takes its time, and a crash may still come).
    await this.#h.quiesce();
  }

  /**
   * Waits until no publish may still land (the disk completes their syncs and time passes the
   * network's delay), or says it cannot (one waits on a lost reply): a topic's deletion must not
   * race a publish that could land in the topic created again after it.
   */
  async #quiet(): Promise<boolean> {
    if (this.#inFlight > 0) await this.#h.quiesce();
    if (this.#inFlight > 0) return false;
    this.#advanceTo(this.#quietAfter);
    return true;
  }

  /** Lets virtual time pass until monotonic time `t`. */
  #advanceTo(t: number): void {
    const wait = t - this.#h.clock.monotonicNow();
    if (wait <= 0) return;
    this.#h.clock.advance(wait);
    this.#h.event(`advance ${wait}`);
  }

  /**
   * Where a reset to `op.to` may put each partition's floor, from what was confirmed when it was
   * issued. Offsets count every record (acks, group records), so a floor is judged by the messages
   * on either side of it: those below `lo` skipped, those from `hi` on delivered.
   */
  #target(op: Extract<AdminOp, { op: 'rsReset' }>): { position: GroupPosition; ranges: [number, number][] } {
    const on = (p: number) => [...this.#stored.values()].filter((s) => s.partition === p);
    const known = (p: number) => Math.max(0, ...on(p).map((s) => s.offset + 1));
    const each = (f: (p: number) => [number, number]) => Array.from({ length: PARTITIONS }, (_, p) => f(p));
    switch (op.to) {
      case 'earliest':
        return { position: 'earliest', ranges: each(() => [0, 0]) };
      case 'latest': // what is published after it is delivered (the `since` rule)
        return { position: 'latest', ranges: each((p) => [known(p), Number.POSITIVE_INFINITY]) };
      case 'offset': {
        const n = op.nth % (this.#next + 2);
        return { position: { offset: n }, ranges: each((p) => [Math.min(n, known(p)), n]) };
      }
      case 'time': {
        const all = [...this.#stored.values()];
        const time = all.length === 0 ? this.#h.clock.now() : all[op.nth % all.length]!.calledAt;
        // Publish times lie between a publish's call and its confirmation (the wall clock only jumps forward here).
        return {
          position: { time },
          ranges: each((p) => [Math.max(0, ...on(p).filter((s) => s.confirmedAt < time).map((s) => s.offset + 1)), Math.min(Number.POSITIVE_INFINITY, ...on(p).filter((s) => s.calledAt >= time).map((s) => s.offset))]),
        };
      }
    }
  }

  /** A new position (the reset's or the delete's) on `partitions`, replacing the old one or joining it as the other possibility. */
  #moveTo(ranges: readonly [number, number][], partitions: Iterable<number>, keepOld: boolean): void {
    for (const p of partitions) {
      const [lo, hi] = ranges[p]!;
      const next: Candidate = { lo, hi, since: this.#next, acked: new Set(), issued: new Set() };
      this.#parts[p] = keepOld ? [...this.#parts[p]!, next] : [next];
    }
  }

  #reset(ferry: Ferry, live: () => boolean, op: Extract<AdminOp, { op: 'rsReset' }>): { run: Promise<Outcome>; undo: () => void } {
    this.counts.resets++;
    const { position, ranges } = this.#target(op);
    const stored = [...this.#stored.values()];
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);
    const run = ferry.resetGroup(ADMIN_GROUP, ADMIN_TOPIC, { to: position }).then(
      (results): Outcome => {
        if (!live()) return 'refused';
        for (const r of results) {
          const [lo, hi] = ranges[r.partition]!;
          const wrong = stored.filter((s) => s.partition === r.partition && ((s.offset < lo && s.offset >= r.to) || (s.offset >= hi && s.offset < r.to)));
          if (wrong.length > 0) this.#h.violate('a reset goes to the point asked', `reset of ${ADMIN_GROUP} to ${JSON.stringify(position)} put partition ${r.partition} at ${r.to}, on the wrong side of offset ${wrong[0]!.offset} (expected between ${lo} and ${hi})`);
        }
        this.#h.event(`rs reset done ${results.map((r) => `${r.partition}:${r.from}->${r.to}`).join(' ')}`);
        // A duplicate of the request (the network copies some) resolves its position again when it
        // lands, after the publishes that landed meanwhile: at or past the answer, up to the offset
        // asked (fresh seed 1552383454: a copy put a partition past ten messages the answer was before).
        const upTo = !this.#h.mayDuplicate || position === 'earliest' ? undefined : typeof position === 'object' && 'offset' in position ? position.offset : Number.POSITIVE_INFINITY;
        const at: [number, number][] = all.map((p) => {
          const to = results.find((r) => r.partition === p)?.to ?? 0;
          return [to, Math.max(to, upTo ?? to)];
        });
        this.#moveTo(at, results.map((r) => r.partition), false);
        return { to: new Map(results.map((r) => [r.partition, r.to])) };
      },
      (e: unknown) => (live() ? this.#failed('reset', e) : 'refused'),
    );
    return { run, undo: () => this.#inDoubt(ranges, all) };
  }

  #deleteGroup(ferry: Ferry, live: () => boolean): { run: Promise<Outcome>; undo: () => void } {
    this.counts.groupDeletes++;
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);
    // A group joined after its deletion starts again from the beginning (nothing is retained away: ids keep every segment).
    const run = ferry.deleteGroup(ADMIN_GROUP, { topics: [ADMIN_TOPIC] }).then(
      (): Outcome => {
        if (!live()) return 'refused';
        this.#h.event('rs group deleted');
        this.#moveTo(all.map(() => [0, 0]), all, false);
        return { to: new Map() };
      },
      (e: unknown) => {
        if (!live()) return 'refused';
        // A copy of the request (the network duplicates some) finds the group its original
        // deleted, and its "no such group" may be the answer that arrives first (seed 923).
        const code = (e as { code?: string }).code;
        if (code === 'UNKNOWN_GROUP' && this.#h.mayDuplicate) return (this.#h.event('rs delete group failed UNKNOWN_GROUP (maybe a copy\'s answer)'), 'unknown');
        return this.#failed('delete group', e);
      },
    );
    return { run, undo: () => this.#inDoubt(all.map(() => [0, 0]), all) };
  }

  #deleteTopic(ferry: Ferry, live: () => boolean): { run: Promise<Outcome>; undo: () => void } {
    this.counts.topicDeletes++;
    // When the call's outcome is unknown, whether the topic went is read from the catalog at the next open.
    const settle = (): void => {
      if (this.#ferry && !this.#ferry.topics().some((t) => t.name === ADMIN_TOPIC)) this.#forgetGeneration();
    };
    const run = ferry.deleteTopic(ADMIN_TOPIC).then(
      (): Outcome => {
        if (!live()) return 'refused';
        this.#h.event('rs topic deleted');
        this.#forgetGeneration();
        return { to: new Map() };
      },
      (e: unknown) => {
        if (!live()) return 'refused';
        const outcome = this.#failed('delete topic', e);
        if (outcome === 'unknown') this.#afterCrash.push(settle); // #failed froze the topic: the next open decides
        return outcome === 'unknown' ? 'refused' : outcome;
      },
    );
    return { run, undo: () => this.#afterCrash.push(settle) };
  }

  #forgetGeneration(): void {
    for (const v of [...this.#stored.keys(), ...this.#maybe]) this.#gone.add(v);
    this.#stored = new Map();
    this.#maybe = new Set();
    this.#parts = fresh();
    this.#exists = false;
    this.#generation++;
    this.#inFlight = 0;
  }

  #failed(what: string, e: unknown): Outcome {
    const code = (e as { code?: string }).code;
    this.#h.event(`rs ${what} failed ${code}`);
    if (code === 'GROUP_IN_USE' || code === 'TOPIC_IN_USE') this.#h.violate('admin refuses only open members', `${what} was refused with ${code}, and the workload's consumer was closed`);
    if (code !== undefined && REFUSALS.has(code)) return 'refused';
    // A lost reply leaves the engine sound (it did the call or not, for good); anything else was the disk's.
    if (code !== 'REQUEST_LOST') this.#frozen = true;
    return 'unknown';
  }

  /** A reset or delete whose outcome is unknown: each partition may be at the old position or the new one. */
  #inDoubt(ranges: readonly [number, number][], partitions: readonly number[]): void {
    this.counts.resetsInDoubt++;
    this.#h.event('rs position in doubt: old or new');
    this.#moveTo(ranges, partitions, true);
  }

  /** Faults off: reads the group to the end, then checks that every partition ended at one position with all of it acked. */
  async drain(ferry: Ferry, tick: () => Promise<void>): Promise<void> {
    if (!this.#used) return;
    if (!(await this.#ensureTopic(ferry))) return this.#h.violate('admin (liveness)', `${ADMIN_TOPIC} could not be created with faults off`);
    for (let quiet = 0, round = 0; quiet < 12 && round < 600; round++) {
      if (this.#pending || this.#h.clock.monotonicNow() < this.#rejoinAfter) {
        await tick();
        continue;
      }
      if (await this.#consumeOne(ferry)) quiet = 0;
      else {
        quiet++;
        await tick();
      }
    }
    await this.#h.quiesce();
    for (let p = 0; p < PARTITIONS; p++) {
      const missing = this.#parts[p]!.map((c) => [...this.#stored].filter(([v, s]) => s.partition === p && (s.offset >= c.hi || v >= c.since) && !c.issued.has(s.offset)).map(([, s]) => s.offset));
      if (missing.every((m) => m.length > 0)) {
        this.#h.violate('after a reset the group gets every message from its point on', `${ADMIN_GROUP} never acked ${ADMIN_TOPIC}/${p} offsets ${missing[0]!.slice(0, 10).join(', ')} (positions ${this.#parts[p]!.map((c) => `[${c.lo}, ${c.hi}]`).join(' or ')})`);
      }
    }
  }
}

function fresh(): Candidate[][] {
  return Array.from({ length: PARTITIONS }, () => [{ lo: 0, hi: 0, since: 0, acked: new Set<number>(), issued: new Set<number>() }]);
}
