// A consumer's settle queue on one partition: starts, acks, nacks, extends and releases are sent
// in the order they were given, those of one turn as one `settle` command, so a release never
// overtakes an ack and a busy consumer sends one message per partition per turn. Caller's thread.
import { FerryError, type Clock } from '../wal/index.ts';
import type { SettleItem } from './partition-protocol.ts';
import type { PartitionRuntime } from './runtime.ts';

/** Who hears how an item ended: a delivery settling itself, or a promise's resolvers. */
export interface SettleAnswer {
  applied(): void;
  refused(error: unknown): void;
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
  #items: SettleItem[] = [];
  #waiting: SettleAnswer[] = [];

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
    if (items.length === 0) return;
    this.#runtime.call({ op: 'settle', topic: this.#topic, partition: this.#partition, group: this.#group, items }).then(
      (results) => {
        for (let i = 0; i < results.length; i++) {
          const r = results[i];
          if (r) waiting[i]!.refused(FerryError.fromWire(r));
          else waiting[i]!.applied();
        }
      },
      (error: unknown) => waiting.forEach((w) => w.refused(error)),
    );
  }
}
