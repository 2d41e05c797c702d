// A consumer's settle queue on one partition: starts, acks, nacks, extends and releases are sent
// in the order they were given, those of one turn as one `settle` command, so a release never
// overtakes an ack and a busy consumer sends one message per partition per turn. Caller's thread.
import { FerryError, type Clock } from '../wal/index.ts';
import type { LeaseToken } from './partition-api.ts';
import type { SettleItem } from './partition-protocol.ts';
import type { PartitionRuntime } from './runtime.ts';

/** Who hears how an item ended: a delivery settling itself, or a promise's resolvers. */
export interface SettleAnswer {
  applied(): void;
  refused(error: unknown): void;
}

/** A delivery whose start may be taken over by its ack or nack in the same turn. */
export interface StartSlot {
  readonly offset: number;
  readonly token: LeaseToken;
  /** The turn its start item was queued in (-1: none that can be replaced). */
  startTurn: number;
  /** Where in that turn's items. */
  startIndex: number;
}

/** The answer of an item nobody waits for. */
const IGNORED: SettleAnswer = { applied: () => {}, refused: () => {} };

/** The ordered settle traffic of one consumer on one partition. */
export class SettleQueue {
  readonly #runtime: PartitionRuntime;
  readonly #clock: Clock;
  readonly #topic: string;
  readonly #partition: number;
  readonly #group: string;
  /** This turn's items; undefined marks a start, made from the delivery in #waiting at the flush (most are replaced by their ack first). */
  #items: (SettleItem | undefined)[] = [];
  #waiting: (SettleAnswer | StartSlot)[] = [];
  /** Counts flushes: a start queued in this turn can still be replaced. */
  #turn = 0;

  constructor(runtime: PartitionRuntime, clock: Clock, topic: string, partition: number, group: string) {
    this.#runtime = runtime;
    this.#clock = clock;
    this.#topic = topic;
    this.#partition = partition;
    this.#group = group;
  }

  /** Queues `item` for this turn's command, answered by nobody (a handler's `start`: a lost one shows as a stale ack). */
  send(item: SettleItem): void {
    this.enqueue(item, IGNORED);
  }

  /**
   * Queues a handler's `start` of `d`. Its ack or nack, if given in this same turn, takes the
   * start's place (see `settle`): a message handled at once costs one item, not two.
   */
  start(d: StartSlot): void {
    d.startTurn = this.#turn;
    d.startIndex = this.#items.length;
    if (this.#items.length === 0) this.#clock.defer(() => this.#flush());
    this.#items.push(undefined);
    this.#waiting.push(d);
  }

  /**
   * Queues `d`'s ack or nack, answered to `d`. When `d`'s start is still queued in this turn, the
   * ack replaces it: applied where the start stood (nothing of `d` lies between them), and the
   * partition acks a lease it never saw start.
   */
  settle(d: StartSlot & SettleAnswer, item: SettleItem): void {
    if (d.startTurn === this.#turn) {
      d.startTurn = -1;
      this.#items[d.startIndex] = item;
      this.#waiting[d.startIndex] = d;
      return;
    }
    this.enqueue(item, d);
  }

  /** Queues `item` for this turn's command; resolves once the partition applied it durably. */
  push(item: SettleItem): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue(item, { applied: resolve, refused: reject }));
  }

  /** Queues `item` for this turn's command; `answer` hears how it ended (no promise: the ack path). */
  enqueue(item: SettleItem, waiting: SettleAnswer): void {
    if (this.#items.length === 0) this.#clock.defer(() => this.#flush());
    this.#items.push(item);
    this.#waiting.push(waiting);
  }

  #flush(): void {
    const items = this.#items;
    const waiting = this.#waiting;
    this.#items = [];
    this.#waiting = [];
    this.#turn++;
    if (items.length === 0) return;
    for (let i = 0; i < items.length; i++) {
      if (items[i] !== undefined) continue;
      const d = waiting[i] as StartSlot;
      items[i] = { kind: 'start', offset: d.offset, token: d.token };
      waiting[i] = IGNORED; // a lost start shows as a stale ack
    }
    const answers = waiting as SettleAnswer[]; // every start was made into an item above
    this.#runtime.call({ op: 'settle', topic: this.#topic, partition: this.#partition, group: this.#group, items: items as SettleItem[] }).then(
      (results) => {
        for (let i = 0; i < results.length; i++) {
          const r = results[i];
          if (r) answers[i]!.refused(FerryError.fromWire(r));
          else answers[i]!.applied();
        }
      },
      (error: unknown) => answers.forEach((w) => w.refused(error)),
    );
  }
}
