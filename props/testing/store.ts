// The user's own state outside Ferry, as a simulated database: a key-value table whose
// transactions commit atomically a moment after the handler asks, or never, if the process
// crashes first. What was committed survives crashes; what was not is lost. Effects reported
// inside a transaction are recorded in the history only if it commits. Transactions are
// serializable (optimistic: a commit fails if a key it read changed since), as a unique
// constraint would make a real database. Runs on the caller's thread.
import { TransactionConflictError } from './errors.ts';

/** One transaction's view: reads see its own writes; nothing is visible elsewhere until commit. */
export interface Transaction<V> {
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): void;
  delete(key: string): void;
  /** Records an effect (a charge, an email queued in an outbox) that happens if, and when, this transaction commits. */
  effect(name: string, key: string, data?: unknown): void;
}

/** A simulated database table that survives crashes (see `sim.store`). */
export interface SimulatedStore<V> {
  /** The committed value of `key`. */
  get(key: string): V | undefined;
  has(key: string): boolean;
  /** Committed entries, in key order. */
  entries(): [string, V][];
  readonly size: number;
  /**
   * Runs `work` in a transaction and commits it: resolves with what `work` returned once the
   * commit is done. If the process crashes first, nothing of it is kept and the promise never
   * settles (the code after it never runs: the process is gone). If `work` throws, nothing is
   * kept; if another transaction committed a change to a key this one read, it rejects with a
   * retriable TRANSACTION_CONFLICT (in a handler: a nack, and the message comes again).
   */
  transaction<R>(work: (tx: Transaction<V>) => R | Promise<R>): Promise<R>;
}

/** What a store needs from its run. */
export interface StoreHost {
  /** Waits the commit's latency; never resolves if the calling process dies meanwhile. */
  commitDelay(): Promise<void>;
  /** False once the calling process has crashed. */
  alive(): boolean;
  effect(name: string, key: string, data: unknown): void;
}

const DELETED = Symbol('deleted');

export class MemoryStore<V> implements SimulatedStore<V> {
  readonly #committed = new Map<string, V>();
  /** Commits that changed each key: a transaction that read a key conflicts if it moved since. */
  readonly #versions = new Map<string, number>();
  readonly #host: StoreHost;

  constructor(host: StoreHost) {
    this.#host = host;
  }

  get(key: string): V | undefined {
    return this.#committed.get(key);
  }

  has(key: string): boolean {
    return this.#committed.has(key);
  }

  entries(): [string, V][] {
    return [...this.#committed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get size(): number {
    return this.#committed.size;
  }

  async transaction<R>(work: (tx: Transaction<V>) => R | Promise<R>): Promise<R> {
    const writes = new Map<string, V | typeof DELETED>();
    const effects: [string, string, unknown][] = [];
    const reads = new Map<string, number>();
    const read = (key: string): void => void (reads.has(key) || reads.set(key, this.#versions.get(key) ?? 0));
    const tx: Transaction<V> = {
      get: (key) => {
        const w = writes.get(key);
        if (writes.has(key)) return w === DELETED ? undefined : (w as V);
        read(key);
        return this.#committed.get(key);
      },
      has: (key) => {
        if (writes.has(key)) return writes.get(key) !== DELETED;
        read(key);
        return this.#committed.has(key);
      },
      set: (key, value) => void writes.set(key, value),
      delete: (key) => void writes.set(key, DELETED),
      effect: (name, key, data) => void effects.push([name, key, data]),
    };
    const result = await work(tx);
    await this.#host.commitDelay();
    if (!this.#host.alive()) return new Promise<R>(() => {});
    // The commit itself: checked and applied all at once, in one turn.
    const moved = [...reads].filter(([key, version]) => (this.#versions.get(key) ?? 0) !== version).map(([key]) => key);
    if (moved.length > 0) throw new TransactionConflictError(moved);
    for (const [key, value] of writes) {
      this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1);
      if (value === DELETED) this.#committed.delete(key);
      else this.#committed.set(key, value);
    }
    for (const [name, key, data] of effects) this.#host.effect(name, key, data);
    return result;
  }
}
