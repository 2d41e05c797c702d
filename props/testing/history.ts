// The history of a simulated run as `ferry/testing` records it: what was confirmed, delivered,
// acked, nacked and dead-lettered (seen from the clients' side of the simulated network, so the
// user's code needs no instrumenting), the effects the user's code reported, and the faults.
// The invariant helpers (invariants.ts) read it. Runs on the caller's thread.

/** Where a message sits: `topic/partition@offset`. */
export function messageId(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}@${offset}`;
}

/** A message the engine confirmed. */
export interface PublishedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly id: string | undefined;
  /** Virtual ms since the run started. */
  readonly atMs: number;
}

/** A message leased to a consumer of `group` (fetched by it; its handler may not have taken it yet). */
export interface DeliveryRecord {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly attempt: number;
  readonly atMs: number;
  /** Which run of the process (1 before the first crash) received it. */
  readonly incarnation: number;
}

/** An ack or nack a live handler sent (it may still be lost on the way, or by a crash). */
export interface SettleRecord {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly atMs: number;
  readonly incarnation: number;
}

/** A dead letter read back from a dead-letter topic by `sim.settle()`. */
export interface DeadLetterRecord {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempts: number;
  readonly lastError: string | null;
}

/** An effect the user's code reported: an email sent, a committed charge. */
export interface EffectRecord {
  readonly name: string;
  readonly key: string;
  readonly data: unknown;
  readonly atMs: number;
  readonly incarnation: number;
}

/** A fault as it happened. */
export interface FaultRecord {
  readonly atMs: number;
  readonly kind: string;
  readonly ms?: number;
}

/** Everything a run recorded, in order. */
export interface SimulationHistory {
  readonly published: readonly PublishedMessage[];
  readonly deliveries: readonly DeliveryRecord[];
  readonly acks: readonly SettleRecord[];
  readonly nacks: readonly SettleRecord[];
  readonly deadLetters: readonly DeadLetterRecord[];
  readonly effects: readonly EffectRecord[];
  readonly faults: readonly FaultRecord[];
  /** Groups that joined, with the topics each joined. */
  readonly groups: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The recording side of a history (simulate's own). */
export class HistoryRecorder implements SimulationHistory {
  readonly published: PublishedMessage[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly acks: SettleRecord[] = [];
  readonly nacks: SettleRecord[] = [];
  readonly deadLetters: DeadLetterRecord[] = [];
  readonly effects: EffectRecord[] = [];
  readonly faults: FaultRecord[] = [];
  readonly groups = new Map<string, Set<string>>();
  /** Keys of the messages seen, by messageId: settles carry only offsets. */
  readonly #keys = new Map<string, string | undefined>();
  readonly #confirmed = new Set<string>();
  /** Virtual ms of the last delivery or settle: `settle()` waits for a quiet spell. */
  lastActivityMs = 0;

  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  confirmed(topic: string, partition: number, offset: number, key: string | undefined, id: string | undefined): void {
    const where = messageId(topic, partition, offset);
    this.#keys.set(where, key);
    if (this.#confirmed.has(where)) return; // a deduplicated retry: the original's offset again
    this.#confirmed.add(where);
    this.published.push({ topic, partition, offset, key, id, atMs: this.#now() });
  }

  joined(group: string, topic: string): void {
    let topics = this.groups.get(group);
    if (!topics) this.groups.set(group, (topics = new Set()));
    topics.add(topic);
  }

  delivered(group: string, topic: string, partition: number, offset: number, key: string | undefined, attempt: number, incarnation: number): void {
    this.#keys.set(messageId(topic, partition, offset), key);
    this.lastActivityMs = this.#now();
    this.deliveries.push({ group, topic, partition, offset, key, attempt, atMs: this.#now(), incarnation });
  }

  settled(kind: 'ack' | 'nack', group: string, topic: string, partition: number, offset: number, incarnation: number): void {
    this.lastActivityMs = this.#now();
    const record = { group, topic, partition, offset, key: this.#keys.get(messageId(topic, partition, offset)), atMs: this.#now(), incarnation };
    (kind === 'ack' ? this.acks : this.nacks).push(record);
  }

  deadLettered(record: DeadLetterRecord): void {
    this.lastActivityMs = this.#now();
    this.deadLetters.push(record);
  }

  effect(name: string, key: string, data: unknown, incarnation: number): void {
    this.effects.push({ name, key, data, atMs: this.#now(), incarnation });
  }

  fault(kind: string, ms?: number): void {
    this.faults.push({ atMs: this.#now(), kind, ...(ms === undefined ? {} : { ms }) });
  }
}
