// Options of Ferry.open, validated once (typed errors naming the option and what it accepts),
// defaults filled, frozen. Unknown names are refused: a typo must not be ignored silently.
import { DEFAULT_ZERO_FILL_BYTES, InvalidArgumentError, MAX_ZERO_FILL_BYTES, type FsyncPolicy, showValue } from '../wal/index.ts';
import { resolveAlertOptions, type ResolvedAlertOptions } from './alert-options.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { PartitionLimits } from './partition-api.ts';
import { DEFAULT_RECORD_CACHE_BYTES, checkRecordCacheBytes } from './record-cache.ts';
import { checkPartBytes } from './snapshot-parts.ts';

export const DEFAULT_LIMITS: PartitionLimits = Object.freeze({
  maxUnsettledPerGroup: 10_000,
  maxWaiters: 4096,
  maxDedupIds: 1_000_000,
  maxProducers: 10_000,
  checkpointEveryRecords: 10_000,
  maxGroups: 1024,
  recordCacheBytes: DEFAULT_RECORD_CACHE_BYTES,
});

const OPEN_OPTIONS = ['dir', 'threads', 'fsync', 'fsyncIntervalMs', 'segmentBytes', 'zeroFillBytes', 'maxMessageBytes', 'limits', 'repair', 'alerts', 'fs', 'clock', 'random', 'transactionTimeoutMs', 'resolveInDoubt', 'metrics'];
const LIMIT_NAMES = ['maxUnsettledPerGroup', 'maxWaiters', 'maxDedupIds', 'maxProducers', 'checkpointEveryRecords', 'maxGroups', 'recordCacheBytes', 'checkpointPartBytes', 'maxOpenTransactions', 'maxTransactionMessages', 'maxTransactionBytes', 'maxOnceKeys', 'onceKeyTtlMs'] as const;

/** The validated shape of what Ferry.open needs besides its seams. */
export interface EngineSettings {
  readonly threads: number | 'auto';
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
  /** Zeros each partition log writes ahead of its appends (0: off). */
  readonly zeroFillBytes: number;
  readonly maxMessageBytes: number;
  readonly limits: PartitionLimits;
  readonly repair: boolean;
  readonly alerts: ResolvedAlertOptions;
  /** An open half transaction not decided within this long is aborted (issue 13). */
  readonly transactionTimeoutMs: number;
}

function wholeIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`options.${name} must be a whole number from ${min} to ${max} (got ${showValue(value)})`);
  }
  return value;
}

function checkRepair(repair: unknown): boolean {
  if (repair !== undefined && typeof repair !== 'boolean') throw new InvalidArgumentError(`options.repair must be true or false (got ${showValue(repair)})`);
  return repair === true;
}

/** Validates Ferry.open's options (all but the seams), with typed errors; fills defaults. */
export function resolveEngineOptions(options: Record<string, unknown> & { readonly dir?: unknown }): EngineSettings {
  if (typeof options !== 'object' || options === null || typeof options.dir !== 'string' || options.dir === '') throw new InvalidArgumentError(`Ferry.open needs { dir }: the data directory, a path (got ${showValue(typeof options === 'object' && options !== null ? options.dir : options)})`);
  refuseUnknownOptions('Ferry.open options', options, OPEN_OPTIONS);
  const threads = options.threads ?? 0;
  if (threads !== 'auto') wholeIn('threads', threads, 0, 256);
  const fsync = options.fsync ?? 'interval';
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'none') throw new InvalidArgumentError(`options.fsync must be 'always', 'interval' or 'none' (got ${showValue(fsync)})`);
  const limitsIn = options.limits ?? {};
  if (typeof limitsIn !== 'object' || limitsIn === null) throw new InvalidArgumentError(`options.limits must be an object (got ${showValue(limitsIn)})`);
  refuseUnknownOptions('options.limits', limitsIn, LIMIT_NAMES);
  // `metrics` travels with the limits to every partition (worker shards included).
  const limits: PartitionLimits = Object.freeze({ ...DEFAULT_LIMITS, ...(limitsIn as Partial<PartitionLimits>), ...(options.metrics === false ? { metrics: false } : {}) });
  for (const name of ['maxUnsettledPerGroup', 'maxWaiters', 'maxDedupIds', 'maxProducers', 'checkpointEveryRecords', 'maxGroups'] as const) wholeIn(`limits.${name}`, limits[name], 1, 1e9);
  checkRecordCacheBytes(limits.recordCacheBytes);
  for (const name of ['maxOpenTransactions', 'maxTransactionMessages', 'maxOnceKeys', 'onceKeyTtlMs'] as const) if (limits[name] !== undefined) wholeIn(`limits.${name}`, limits[name], 1, 1e9);
  // A committed transaction's messages on one partition are appended as one batch: they must fit.
  if (limits.maxTransactionBytes !== undefined) wholeIn('limits.maxTransactionBytes', limits.maxTransactionBytes, 1024, 8 * 1024 * 1024);
  if (options.resolveInDoubt !== undefined && typeof options.resolveInDoubt !== 'function') throw new InvalidArgumentError(`options.resolveInDoubt must be a function (id, info) => 'commit' | 'abort' (or a promise of one) (got ${showValue(options.resolveInDoubt)})`);
  if (limits.checkpointPartBytes !== undefined) checkPartBytes(limits.checkpointPartBytes);
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') throw new InvalidArgumentError(`options.metrics must be true or false (got ${showValue(options.metrics)})`);
  return Object.freeze({
    threads: threads as number | 'auto',
    fsync,
    // 0: group commit back to back (a sync starts as soon as the last one ended, covering every
    // write made meanwhile); more: at least this long between syncs, confirms wait for the next.
    fsyncIntervalMs: wholeIn('fsyncIntervalMs', options.fsyncIntervalMs ?? 0, 0, 60_000),
    segmentBytes: wholeIn('segmentBytes', options.segmentBytes ?? 64 * 1024 * 1024, 256, 1024 * 1024 * 1024),
    zeroFillBytes: wholeIn('zeroFillBytes', options.zeroFillBytes ?? DEFAULT_ZERO_FILL_BYTES, 0, MAX_ZERO_FILL_BYTES),
    maxMessageBytes: wholeIn('maxMessageBytes', options.maxMessageBytes ?? 1024 * 1024, 64, 64 * 1024 * 1024),
    limits,
    repair: checkRepair(options.repair),
    alerts: resolveAlertOptions(options.alerts),
    transactionTimeoutMs: wholeIn('transactionTimeoutMs', options.transactionTimeoutMs ?? 60_000, 10, 24 * 3600_000),
  });
}
