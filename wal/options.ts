// Options of a write-ahead log: validated once, defaults filled, frozen.
import { InvalidArgumentError } from './errors.ts';
import type { Clock } from './seams/clock.ts';
import type { FileSystem } from './seams/file-system.ts';
import { showValue } from './show-value.ts';

/**
 * When an append is confirmed:
 * - `always`: after its own fdatasync (one per append);
 * - `interval`: after a group-commit fdatasync that covers it (at most one in flight; appends
 *   arriving meanwhile ride the next one, which starts no sooner than `fsyncIntervalMs` after the last);
 * - `none`: after the write reaches the OS (survives a process crash, not a power loss).
 */
export type FsyncPolicy = 'always' | 'interval' | 'none';

/** Options of `WriteAheadLog.open`. */
/** Zeros written ahead of a log's append position when not told (see LogOptions.zeroFillBytes). */
export const DEFAULT_ZERO_FILL_BYTES = 1024 * 1024;
/** The most zeros a log writes ahead at a time. */
export const MAX_ZERO_FILL_BYTES = 64 * 1024 * 1024;

export interface LogOptions {
  /** The log's directory; created if missing. */
  readonly dir: string;
  readonly fs: FileSystem;
  readonly clock: Clock;
  /** Default `interval`. */
  readonly fsync?: FsyncPolicy;
  /** Minimum gap between group-commit syncs under `interval`. Default 0 (back to back). */
  readonly fsyncIntervalMs?: number;
  /** A segment rolls when the next batch would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * Zeros written ahead of the append position, a chunk at a time (at most up to `segmentBytes`),
   * so that a sync of appended data does not also commit a new file size: on ext4 that makes each
   * fdatasync about a third cheaper. The file on disk grows by this much at a time. 0 turns it off;
   * under `fsync: 'none'` it is off (nothing syncs). Default 1 MiB.
   */
  readonly zeroFillBytes?: number;
  /** Bytes between sparse index entries. Default 4 KiB. */
  readonly indexIntervalBytes?: number;
  /** Largest batch (header included). Default 16 MiB. */
  readonly maxBatchBytes?: number;
  /** Appends that may wait for a sync at once before `append` rejects with OVERLOADED. Default 65536. */
  readonly maxPendingAppends?: number;
  /** Sealed segment files kept open for reads. Default 16. */
  readonly maxOpenSegments?: number;
  /** On mid-log corruption, truncate there and report what was dropped instead of refusing to open. */
  readonly repair?: boolean;
  /** Base offset of a brand-new log. Default 0. */
  readonly initialOffset?: number;
  /**
   * Lock the directory (default true). An owner that holds a lock over many logs (the engine
   * locks its data directory) opens them with false: a worker thread that dies cannot release
   * a lock of its own, and would leave the log locked against its restart.
   */
  readonly lock?: boolean;
  /** Told how long each completed sync took (monotonic ms): the engine's fsync histogram. Default: nothing. */
  readonly onSyncMs?: (durationMs: number) => void;
}

export type ResolvedLogOptions = Required<LogOptions>;

function positiveInt(name: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0 || v > max) {
    throw new InvalidArgumentError(`options.${name} must be an integer between 1 and ${max} (got ${showValue(value)})`);
  }
  return v;
}

export function resolveLogOptions(options: LogOptions): ResolvedLogOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  if (typeof options.dir !== 'string' || options.dir.length === 0 || options.dir.includes('\0')) {
    throw new InvalidArgumentError('options.dir must be a non-empty path without NUL bytes');
  }
  if (!options.fs || !options.clock) throw new InvalidArgumentError('options.fs and options.clock are required (use nodeFileSystem and realClock)');
  const fsync = options.fsync ?? 'interval';
  if (fsync !== 'always' && fsync !== 'interval' && fsync !== 'none') {
    throw new InvalidArgumentError(`options.fsync must be 'always', 'interval' or 'none' (got ${showValue(fsync)})`);
  }
  const fsyncIntervalMs = options.fsyncIntervalMs ?? 0;
  if (!Number.isFinite(fsyncIntervalMs) || fsyncIntervalMs < 0 || fsyncIntervalMs > 60_000) {
    throw new InvalidArgumentError(`options.fsyncIntervalMs must be between 0 and 60000 (got ${showValue(fsyncIntervalMs)})`);
  }
  const zeroFillBytes = options.zeroFillBytes ?? DEFAULT_ZERO_FILL_BYTES;
  if (!Number.isSafeInteger(zeroFillBytes) || zeroFillBytes < 0 || zeroFillBytes > MAX_ZERO_FILL_BYTES) {
    throw new InvalidArgumentError(`options.zeroFillBytes must be an integer from 0 (off) to ${MAX_ZERO_FILL_BYTES} (got ${showValue(options.zeroFillBytes)})`);
  }
  const initialOffset = options.initialOffset ?? 0;
  if (!Number.isSafeInteger(initialOffset) || initialOffset < 0) throw new InvalidArgumentError('options.initialOffset must be a non-negative integer');
  const resolved: ResolvedLogOptions = Object.assign(Object.create(null) as object, {
    dir: options.dir,
    fs: options.fs,
    clock: options.clock,
    fsync,
    fsyncIntervalMs,
    segmentBytes: positiveInt('segmentBytes', options.segmentBytes, 64 * 1024 * 1024, 1024 * 1024 * 1024),
    zeroFillBytes: fsync === 'none' ? 0 : zeroFillBytes,
    indexIntervalBytes: positiveInt('indexIntervalBytes', options.indexIntervalBytes, 4096, 1024 * 1024 * 1024),
    maxBatchBytes: positiveInt('maxBatchBytes', options.maxBatchBytes, 16 * 1024 * 1024, 256 * 1024 * 1024),
    maxPendingAppends: positiveInt('maxPendingAppends', options.maxPendingAppends, 65536, 1 << 24),
    maxOpenSegments: positiveInt('maxOpenSegments', options.maxOpenSegments, 16, 4096),
    repair: options.repair === true,
    initialOffset,
    lock: options.lock !== false,
    onSyncMs: options.onSyncMs ?? (() => {}),
  });
  return Object.freeze(resolved);
}
