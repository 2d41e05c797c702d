// The processed-key store behind `d.once(key)` (issue 13): per consumer group on a partition, the
// keys recorded together with an ack (in the same ACK record), so a handler can skip an effect it
// already made for a redelivered or repeated message. Bounded: a key is kept `onceKeyTtlMs` after
// its ack (wall time, as records carry) and at most `maxOnceKeys` per group and partition, the
// oldest evicted first. Runs on the partition's thread; rebuilt by replay, kept in checkpoints.
import type { LeaseToken } from './partition-api.ts';

/** Keys kept per group and partition when `limits.maxOnceKeys` is not given. */
export const DEFAULT_MAX_ONCE_KEYS = 100_000;
/** How long a key is kept after its ack when `limits.onceKeyTtlMs` is not given: 7 days. */
export const DEFAULT_ONCE_KEY_TTL_MS = 7 * 24 * 3600_000;

/** The answer to `once`: the key is new and now claimed by the asking delivery, recorded already, or claimed by another delivery in flight. */
export type OnceAnswer = 'first' | 'recorded' | 'busy';

/** Processed keys of every group of one partition. */
export class OnceKeys {
  readonly #maxKeys: number;
  readonly #ttlMs: number;
  /** Per group: key -> wall time of the ack that recorded it, oldest first. */
  readonly #recorded = new Map<string, Map<string, number>>();
  /** Per group: key -> the offset and lease token of the delivery that claimed it (until it settles). */
  readonly #claims = new Map<string, Map<string, { offset: number; token: LeaseToken }>>();

  constructor(maxKeys = DEFAULT_MAX_ONCE_KEYS, ttlMs = DEFAULT_ONCE_KEY_TTL_MS) {
    this.#maxKeys = maxKeys;
    this.#ttlMs = ttlMs;
  }

  /**
   * Whether `key` was recorded for `group`; if not, claims it for the delivery (offset, token),
   * unless another delivery whose lease is still current (`live`) holds it.
   */
  check(group: string, key: string, offset: number, token: LeaseToken, now: number, live: (offset: number, token: LeaseToken) => boolean): OnceAnswer {
    const at = this.#recorded.get(group)?.get(key);
    if (at !== undefined && at + this.#ttlMs > now) return 'recorded';
    let claims = this.#claims.get(group);
    const claim = claims?.get(key);
    if (claim && (claim.offset !== offset || claim.token !== token) && live(claim.offset, claim.token)) return 'busy';
    if (!claims) this.#claims.set(group, (claims = new Map()));
    if (!claims.has(key) && claims.size >= this.#maxKeys) {
      // Bounded like the keys: claims of deliveries no longer leased (nacked, expired) go first.
      for (const [k, c] of claims) if (!live(c.offset, c.token)) claims.delete(k);
      if (claims.size >= this.#maxKeys) return 'busy';
    }
    claims.set(key, { offset, token });
    return 'first';
  }

  /** Records keys acked at wall time `at` (live, or replayed from an ACK record). */
  record(group: string, keys: readonly string[], at: number): void {
    let recorded = this.#recorded.get(group);
    if (!recorded) this.#recorded.set(group, (recorded = new Map()));
    const claims = this.#claims.get(group);
    for (const key of keys) {
      recorded.delete(key); // re-inserted: insertion order stays record order
      recorded.set(key, at);
      claims?.delete(key);
    }
    this.#trim(recorded, at);
  }

  /** Drops expired keys, then the oldest past the count bound (eviction: a repeat of an evicted key runs again). */
  #trim(recorded: Map<string, number>, now: number): void {
    for (const [key, at] of recorded) {
      if (at + this.#ttlMs > now && recorded.size <= this.#maxKeys) break;
      recorded.delete(key);
    }
  }

  /** Forgets a deleted group. */
  forget(group: string): void {
    this.#recorded.delete(group);
    this.#claims.delete(group);
  }

  /** What a checkpoint keeps: per group, [key, ackedAt] oldest first. */
  snapshot(): Record<string, [string, number][]> {
    return Object.fromEntries([...this.#recorded].filter(([, m]) => m.size > 0).map(([group, m]) => [group, [...m]]));
  }

  restore(s: Record<string, [string, number][]> | undefined): void {
    for (const [group, keys] of Object.entries(s ?? {})) for (const [key, at] of keys) this.record(group, [key], at);
  }
}
