// Topic options: validated once, defaults filled, frozen; compared field by field so that
// createTopic is idempotent for the same options and a typed error for different ones.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { DeadLetterTopicConflictError, TopicConflictError } from './errors.ts';
import { checkName } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';

/** How long to wait before redelivering after a failed attempt. */
export type Backoff =
  | { readonly kind: 'fixed'; readonly delayMs: number }
  | { readonly kind: 'exponential'; readonly initialMs: number; readonly maxMs: number; readonly multiplier?: number; readonly jitter?: number };

/** Options of `createTopic`. */
export interface TopicOptions {
  /** Default 1. Fixed once created. */
  readonly partitions?: number;
  /** Failed attempts before a message is dead-lettered. Default 5. */
  readonly maxDeliveries?: number;
  /** Default exponential from 100 ms to 30 s, doubling, with 20% jitter. */
  readonly backoff?: Backoff;
  /** A delivery not acked, nacked or extended within this time is redelivered. Default 30 s. */
  readonly ackTimeoutMs?: number;
  /** Dead-letter topic name, or false for none (then exhausted messages are dropped as settled). Default `<topic>.dlq`. */
  readonly deadLetter?: string | false;
  /** Messages with the same `id` within this window are stored once. Default 2 minutes. */
  readonly dedupWindowMs?: number;
  /**
   * Delete the oldest sealed segments of each partition once they are older than `ms` or the
   * partition holds more than `bytes`, settled or not (their unsettled messages expire). Checked
   * every minute and at each checkpoint. Default: keep every message until all groups settled it.
   */
  readonly retention?: { readonly ms?: number; readonly bytes?: number };
}

/** A backoff with every field filled. */
export interface ResolvedBackoff {
  readonly kind: 'fixed' | 'exponential';
  readonly delayMs: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: number;
}

/** Topic options with every default filled, as stored in the catalog. */
export interface ResolvedTopicOptions {
  readonly partitions: number;
  readonly maxDeliveries: number;
  readonly backoff: ResolvedBackoff;
  readonly ackTimeoutMs: number;
  readonly deadLetter: string | false;
  readonly dedupWindowMs: number;
  readonly retention: { readonly ms: number; readonly bytes: number };
}

function intIn(name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (got ${showValue(value)})`);
  }
  return v;
}

const BACKOFF_SHAPES = "{ kind: 'fixed', delayMs } or { kind: 'exponential', initialMs?, maxMs?, multiplier?, jitter? }";

function resolveBackoff(backoff: Backoff | undefined): ResolvedBackoff {
  const b = backoff ?? { kind: 'exponential', initialMs: 100, maxMs: 30_000, multiplier: 2, jitter: 0.2 };
  if (typeof b !== 'object' || b === null) throw new InvalidArgumentError(`backoff must be an object: ${BACKOFF_SHAPES} (got ${showValue(b)})`);
  // The kind first: it decides which fields are known, so a wrong kind is blamed, not its fields.
  const kind: unknown = b.kind;
  if (kind === undefined) throw new InvalidArgumentError(`backoff needs a kind: ${BACKOFF_SHAPES} (got ${showValue(b)})`);
  if (kind !== 'fixed' && kind !== 'exponential') throw new InvalidArgumentError(`backoff.kind must be 'fixed' or 'exponential' (got ${showValue(kind)}): ${BACKOFF_SHAPES}`);
  const whole = RESOLVED_FIELDS.every((f) => Object.hasOwn(b, f));
  refuseUnknownOptions(`backoff { kind: '${kind}' }`, b, whole ? RESOLVED_FIELDS : kind === 'fixed' ? ['kind', 'delayMs'] : ['kind', 'initialMs', 'maxMs', 'multiplier', 'jitter']);
  const resolved = resolveBackoffOfKind(b);
  if (whole) checkResolvedBackoff(b as unknown as ResolvedBackoff, resolved);
  return resolved;
}

/**
 * Every field of a resolved backoff, as `topics()` and `describe()` show it. A backoff given with
 * all of them (an "ensure" with the options read back, an `alterTopic` of them) is taken when the
 * fields its kind does not use say what its own fields imply; a backoff mixing a few fields of
 * both kinds is still refused as unknown fields.
 */
const RESOLVED_FIELDS = ['kind', 'delayMs', 'initialMs', 'maxMs', 'multiplier', 'jitter'] as const;

function checkResolvedBackoff(given: ResolvedBackoff, resolved: ResolvedBackoff): void {
  const field = RESOLVED_FIELDS.find((f) => given[f] !== resolved[f]);
  if (field === undefined) return;
  const own = resolved.kind === 'fixed' ? 'delayMs' : 'initialMs, maxMs, multiplier, jitter';
  throw new InvalidArgumentError(`backoff { kind: '${resolved.kind}' } uses ${own}; its ${field} ${showValue(given[field])} disagrees with them (they imply ${showValue(resolved[field])}): give only ${own}`);
}

function resolveBackoffOfKind(b: Backoff): ResolvedBackoff {
  if (b.kind === 'fixed') {
    if (b.delayMs === undefined) throw new InvalidArgumentError("backoff { kind: 'fixed' } needs delayMs (ms between attempts; 0 retries at once)");
    const delayMs = intIn('backoff.delayMs', b.delayMs, 0, 0, 7 * 86_400_000);
    return { kind: 'fixed', delayMs, initialMs: delayMs, maxMs: delayMs, multiplier: 1, jitter: 0 };
  }
  const initialMs = intIn('backoff.initialMs', b.initialMs, 100, 0, 7 * 86_400_000);
  const maxMs = intIn('backoff.maxMs', b.maxMs, Math.max(30_000, initialMs), initialMs, 7 * 86_400_000);
  const multiplier = b.multiplier ?? 2;
  const jitter = b.jitter ?? 0;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1 || multiplier > 100) throw new InvalidArgumentError(`backoff.multiplier must be a number from 1 to 100 (got ${showValue(multiplier)})`);
  if (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter > 1) throw new InvalidArgumentError(`backoff.jitter must be a number from 0 to 1 (got ${showValue(jitter)})`);
  return { kind: 'exponential', delayMs: initialMs, initialMs, maxMs, multiplier, jitter };
}

const TOPIC_OPTIONS = ['partitions', 'maxDeliveries', 'backoff', 'ackTimeoutMs', 'deadLetter', 'dedupWindowMs', 'retention'];

/**
 * Options of a dead-letter topic the engine creates: a letter is never dropped. Its consumers
 * retry it (backing off to 5 minutes) for as long as they fail, up to a million attempts, instead
 * of the 5 of an ordinary topic; a dead-letter topic has no dead-letter topic of its own.
 */
export const DEAD_LETTER_TOPIC_OPTIONS: TopicOptions = Object.freeze({
  partitions: 1,
  deadLetter: false,
  maxDeliveries: 1_000_000,
  backoff: Object.freeze({ kind: 'exponential', initialMs: 1000, maxMs: 300_000, multiplier: 2, jitter: 0.2 }),
});

/** Validates and completes the options of topic `name`. */
export function resolveTopicOptions(name: string, options: TopicOptions = {}): ResolvedTopicOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`topic options must be an object (got ${showValue(options)})`);
  refuseUnknownOptions(`topic ${name} options`, options, TOPIC_OPTIONS);
  if (options.retention !== undefined) refuseUnknownOptions('retention', options.retention, ['ms', 'bytes']);
  const deadLetter = options.deadLetter === undefined ? `${name}.dlq` : options.deadLetter;
  if (deadLetter !== false) {
    if (typeof deadLetter !== 'string') throw new InvalidArgumentError(`deadLetter must be a topic name, or false for none (got ${showValue(deadLetter)})`);
    checkName('topic', deadLetter);
    if (deadLetter === name) throw new InvalidArgumentError(`topic ${name} cannot be its own dead-letter topic`);
  }
  const retention = options.retention ?? {};
  return Object.freeze({
    partitions: intIn('partitions', options.partitions, 1, 1, 4096),
    maxDeliveries: intIn('maxDeliveries', options.maxDeliveries, 5, 1, 1_000_000),
    backoff: Object.freeze(resolveBackoff(options.backoff)),
    ackTimeoutMs: intIn('ackTimeoutMs', options.ackTimeoutMs, 30_000, 1, 7 * 86_400_000),
    deadLetter,
    dedupWindowMs: intIn('dedupWindowMs', options.dedupWindowMs, 120_000, 0, 7 * 86_400_000),
    retention: Object.freeze({ ms: intIn('retention.ms', retention.ms, 0, 0, Number.MAX_SAFE_INTEGER), bytes: intIn('retention.bytes', retention.bytes, 0, 0, Number.MAX_SAFE_INTEGER) }),
  });
}

/** Throws TopicConflictError naming the first field that differs. */
export function assertSameTopicOptions(name: string, existing: ResolvedTopicOptions, wanted: ResolvedTopicOptions): void {
  for (const field of Object.keys(existing) as (keyof ResolvedTopicOptions)[]) {
    if (JSON.stringify(existing[field]) !== JSON.stringify(wanted[field])) throw new TopicConflictError(name, field);
  }
}

/**
 * Refuses (DEAD_LETTER_TOPIC_CONFLICT) a topic being created whose dead-letter topic exists already
 * as an ordinary topic: created first (by an ops service that started first), its letters would be
 * retried and moved on to a dead-letter topic of its own, which no one expects. Shared by every
 * backend's createTopic, so they refuse the same cases.
 */
export function assertDeadLetterTarget(name: string, isNew: boolean, deadLetterTopic: string, target: ResolvedTopicOptions): void {
  if (isNew && target.deadLetter !== false) throw new DeadLetterTopicConflictError(name, deadLetterTopic);
}
