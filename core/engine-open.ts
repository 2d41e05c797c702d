// Opening an engine on a data directory (the caller's thread): the directory lock, the catalog,
// the partition runtime with every topic recovered, and the transaction decisions, in that order;
// an open that fails undoes what it took.
import { join } from 'node:path';
import { InvalidArgumentError, LockedError, SeededRandom, errorCode, WriteAheadLog, nodeFileSystem, realClock, type Clock, type FileSystem, type LockHandle, type Random } from '../wal/index.ts';
import type { ResolvedAlertOptions } from './alert-options.ts';
import { CATALOG_LOG_OPTIONS, Catalog } from './catalog.ts';
import { DECISION_LOG_OPTIONS, DecisionLog } from './decision-log.ts';
import { resolveEngineOptions } from './engine-options.ts';
import { UnknownTopicError } from './errors.ts';
import type { FerryOptions, RuntimeFactory } from './ferry-options.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { PartitionRuntime } from './runtime.ts';
import type { ResolvedTopicOptions } from './topic-options.ts';
import type { FerryEventMap } from './engine-events.ts';
import { TransactionManager } from './transactions.ts';

/** What an open engine is made of; the parts of the Ferry facade share it. */
export interface OpenedEngine {
  readonly lock: LockHandle;
  readonly runtime: PartitionRuntime;
  readonly catalog: Catalog;
  readonly clock: Clock;
  readonly random: Random;
  readonly maxMessageBytes: number;
  readonly alerts: ResolvedAlertOptions;
  /** The data directory and its file system (for removing a deleted topic's files). */
  readonly fs: FileSystem;
  readonly dir: string;
  readonly transactions: TransactionManager;
  readonly decisions: DecisionLog;
  /**
   * Where failed check-back tries go (the engine's `checkBackFailed` event): set by the engine once
   * its events exist; the check-back's first try comes after recovery's listing, by which time they do.
   */
  readonly checkBack: { failed?: (event: FerryEventMap['checkBackFailed']) => void };
  /** A topic's options; UNKNOWN_TOPIC if there is none. */
  topic(name: string): ResolvedTopicOptions;
}

/** Opens the engine's parts on `options.dir`, recovering every topic in it. */
export async function openEngine(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<OpenedEngine> {
  const { threads, fsync, fsyncIntervalMs, segmentBytes, zeroFillBytes, maxMessageBytes, limits, repair, alerts, transactionTimeoutMs } = resolveEngineOptions(options as unknown as Record<string, unknown>);
  const fs = options.fs ?? nodeFileSystem;
  const clock = options.clock ?? realClock;
  const random = options.random ?? new SeededRandom((clock.now() ^ (process.pid << 16)) >>> 0);
  const lock = lockDir(fs, options.dir);
  // What an open that fails has taken, undone in reverse order: the directory is left as it was
  // found, and a retry in this process is not refused as LOCKED (issue 9).
  const undo: (() => unknown)[] = [() => lock.release()];
  try {
    const catalogLog = await WriteAheadLog.open({ dir: join(options.dir, '_catalog'), fs, clock, fsync: fsync === 'none' ? 'interval' : fsync, ...CATALOG_LOG_OPTIONS, zeroFillBytes, repair });
    undo.unshift(() => catalogLog.close());
    // The catalog is read before any thread starts: a bad one has nothing else to stop.
    const catalog = Catalog.load(catalogLog);
    undo.unshift(() => catalog.close());
    const topic = (name: string): ResolvedTopicOptions => {
      const o = catalog.topic(name);
      if (!o) throw new UnknownTopicError(name);
      return o;
    };
    const local = { dir: options.dir, fs, clock, random: random.fork('runtime'), fsync, fsyncIntervalMs, segmentBytes, zeroFillBytes, repair, maxMessageBytes, limits };
    const threaded = threads === 'auto' || threads > 0;
    if (threaded && !runtimeFactory) throw new InvalidArgumentError("options.threads > 0 needs the worker runtime: import { Ferry } from 'ferry' (the package root passes it in)");
    const runtime = threaded ? runtimeFactory!({ threads, local }) : new LocalRuntime(local);
    undo.unshift(() => runtime.close());
    for (const [name, topicOptions] of catalog.topics()) await runtime.openTopic(name, topicOptions);
    // Transactions (issue 13): decisions are read, and what a crash left prepared is decided,
    // before the engine serves.
    const decisionLog = await WriteAheadLog.open({ dir: join(options.dir, '_transactions'), fs, clock, fsync: fsync === 'none' ? 'interval' : fsync, ...DECISION_LOG_OPTIONS, zeroFillBytes, repair });
    undo.unshift(() => decisionLog.close());
    const decisions = DecisionLog.load(decisionLog);
    const checkBack: OpenedEngine['checkBack'] = {};
    const transactions = new TransactionManager({
      runtime,
      decisions,
      clock,
      random: random.fork('transactions'),
      maxMessageBytes,
      limits,
      timeoutMs: transactionTimeoutMs,
      ...(options.resolveInDoubt ? { resolveInDoubt: options.resolveInDoubt } : {}),
      checkBackFailed: (event) => checkBack.failed?.(event),
      boot: await decisions.boot(clock.now()),
      topic,
      topics: () => catalog.topics(),
    });
    undo.unshift(() => transactions.close());
    // Not awaited: a partition that cannot answer now (a restarting worker, a lost request)
    // must not hold the open up, and nothing needs the outcome first: prepared messages stay
    // invisible and their acked deliveries reserved on the partitions until decided.
    transactions.recover();
    return { lock, runtime, catalog, clock, random, maxMessageBytes, alerts, fs, dir: options.dir, transactions, decisions, checkBack, topic };
  } catch (error) {
    for (const step of undo) await Promise.resolve().then(step).catch(() => {}); // the open's own error is the one to report
    throw error;
  }
}

/** One lock for the whole data directory, held by this thread; the logs under it open unlocked. */
function lockDir(fs: FileSystem, dir: string): LockHandle {
  try {
    fs.mkdirp(dir);
  } catch (error) {
    // A file in the way, a path without permission: the user's to fix, not the disk's.
    throw new InvalidArgumentError(`options.dir ${JSON.stringify(dir)} cannot be a data directory (${errorCode(error) ?? String(error)}): give the path of a directory, or of one to create`, { cause: error });
  }
  try {
    return fs.lock(join(dir, 'LOCK'));
  } catch (error) {
    throw errorCode(error) === 'ELOCKED' ? new LockedError(dir, String((error as { holder?: unknown }).holder ?? 'another process'), { cause: error }) : error;
  }
}

/** Closes what `openEngine` opened, after the clients are done: runtime, decisions, catalog, lock. */
export async function closeEngine(engine: OpenedEngine): Promise<void> {
  engine.transactions.close();
  await engine.runtime.close();
  await engine.decisions.close();
  await engine.catalog.close();
  engine.lock.release();
}
