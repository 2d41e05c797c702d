// Ferry's public entry and composition root: every export listed by name (package.json `exports`
// keeps deep imports out). Here the worker-thread runtime is handed to the engine, so that
// `Ferry.open({ threads })` can use it while core/ never imports workers/.
import { Ferry as Engine, type FerryOptions, type RuntimeFactory } from './core/index.ts';
import { createWorkerRuntime } from './workers/index.ts';

/**
 * An open engine on one data directory: create topics, hand out producers and consumers, redrive
 * dead letters. `Ferry.open` runs partitions on the calling thread (`threads: 0`, the default) or
 * on supervised worker threads (`threads: N | 'auto'`).
 */
export class Ferry extends Engine {
  /**
   * Opens the engine on a data directory, recovering every topic in it. `runtimeFactory` replaces
   * the worker-thread runtime used for `threads > 0` (see `workerRuntimeFactory`).
   */
  static override open(options: FerryOptions, runtimeFactory: RuntimeFactory = createWorkerRuntime): Promise<Ferry> {
    return Engine.open(options, runtimeFactory);
  }
}

export type {
  Backoff,
  CloseOptions,
  Consumer,
  ConsumerFault,
  ConsumerOptions,
  DeadLetterInfo,
  Delivery,
  FerryOptions,
  InDoubtInfo,
  Message,
  NackOptions,
  Ordering,
  PartitionLimits,
  Producer,
  ProducerOptions,
  PublishResult,
  RedriveOptions,
  ResolveInDoubt,
  RunOptions,
  RuntimeFactory,
  TopicOptions,
  Transaction,
} from './core/index.ts';
export {
  CheckpointFailedError,
  ClosedError,
  CorruptStateError,
  DedupWindowFullError,
  GroupConflictError,
  GroupInUseError,
  InvalidMessageError,
  InvalidNameError,
  NotDeadLetterTopicError,
  ProducerFencedError,
  RequestTimeoutError,
  DuplicateSequenceError,
  ProducersFullError,
  SequenceGapError,
  StaleDeliveryError,
  OnceKeyBusyError,
  TooManyTransactionsError,
  TopicConflictError,
  TransactionAbortedError,
  TransactionFencedError,
  TransactionFinishedError,
  TransactionTooLargeError,
  UnknownFormatVersionError,
  UnknownGroupError,
  UnknownTopicError,
} from './core/index.ts';
export { ShardCrashedError, ShardFailedError, workerRuntimeFactory } from './workers/index.ts';
export type { RestartPolicy, WorkerRuntimeExtras } from './workers/index.ts';
export {
  CorruptSegmentError,
  DiskFullError,
  FerryError,
  FsyncFailedError,
  InvalidArgumentError,
  IoError,
  LockedError,
  LogClosedError,
  OffsetOutOfRangeError,
  OverloadedError,
} from './wal/index.ts';
export type { FerryErrorWire, FsyncPolicy, Clock, Random, FileSystem } from './wal/index.ts';
