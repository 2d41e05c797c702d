// The options of `Ferry.open`, and the seam through which the package root hands core the
// worker-thread runtime (core never imports workers/).
import type { Clock, FileSystem, FsyncPolicy, Random } from '../wal/index.ts';
import type { AlertOptions } from './alert-options.ts';
import type { LocalRuntime } from './local-runtime.ts';
import type { PartitionLimits } from './partition-actor.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolveInDoubt } from './transactions.ts';

/** Options of `Ferry.open`. */
export interface FerryOptions {
  /** The data directory (created if missing; locked while open). */
  readonly dir: string;
  /**
   * Worker threads hosting partitions: 0 runs them on the calling thread, 'auto' uses one per
   * core but one (left to the caller). Default 0.
   */
  readonly threads?: number | 'auto';
  /** Default 'interval' (group commit). 'none' confirms before data is on disk. */
  readonly fsync?: FsyncPolicy;
  /**
   * With `fsync: 'interval'`: 0 (default) syncs back to back (a sync starts as soon as the last one
   * ended and covers every write made meanwhile); more waits at least this long between syncs, and
   * confirms wait for the next one. 0 to 60000.
   */
  readonly fsyncIntervalMs?: number;
  /** Segment size of every partition log. Default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * Zeros each partition log writes ahead of its appends, so a sync does not also commit a new
   * file size (on ext4 each fdatasync is cheaper). 0 turns it off: do that on copy-on-write file
   * systems (btrfs, ZFS), where the zeros are a second write for nothing. 0 to 64 MiB; off under
   * `fsync: 'none'`. Default 1 MiB.
   */
  readonly zeroFillBytes?: number;
  /**
   * Largest encoded message: the value's msgpack bytes plus 13 bytes of framing plus its key, id
   * and headers (a Buffer or Uint8Array value alone may be `maxMessageBytes - 13` bytes). Default 1 MiB.
   */
  readonly maxMessageBytes?: number;
  readonly limits?: Partial<Omit<PartitionLimits, 'metrics'>>;
  /**
   * Whether the partitions measure durations for the metrics: publish to confirm, publish to
   * first delivery, handler time and fsync (`metrics().engine`, the `*.duration` histograms).
   * Default true. False saves their clock readings and histogram updates on the publish, delivery
   * and settle paths (the figures stay empty); the counts and gauges, which the alert events and
   * `describe()` read too, are kept either way (a field add per batch).
   */
  readonly metrics?: boolean;
  /**
   * Opens logs damaged inside data that was synced (a CORRUPT_SEGMENT error otherwise) by cutting
   * each at its first bad batch: everything after it in that log is dropped, and reported. Use it
   * only once you have kept a copy of the directory, or restored what you could from a backup.
   */
  readonly repair?: boolean;
  /** Thresholds and pace of the alert events (`ferry.on`). */
  readonly alerts?: AlertOptions;
  /**
   * An open half transaction (beginTransaction) neither committed nor aborted within this long is
   * aborted; so is an in-doubt one after a restart when there is no `resolveInDoubt`. Default 60000.
   */
  readonly transactionTimeoutMs?: number;
  /**
   * The check-back (issue 13): after a crash, asked for every half transaction that was begun and
   * not decided, with its id; answer 'commit' if your own local transaction committed, else
   * 'abort'. Asked again with backoff while it throws; until it answers, the transaction's
   * messages stay invisible and its acked deliveries reserved.
   */
  readonly resolveInDoubt?: ResolveInDoubt;
  /** Seams: the simulator and tests pass their own. */
  readonly fs?: FileSystem;
  readonly clock?: Clock;
  readonly random?: Random;
}

/** Builds the runtime for `threads > 0`; supplied by the composition root (index.ts). */
export type RuntimeFactory = (options: { readonly threads: number | 'auto'; readonly local: ConstructorParameters<typeof LocalRuntime>[0] }) => PartitionRuntime;
