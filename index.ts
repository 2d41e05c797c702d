// Ferry's public entry and composition root: every export listed by name (package.json `exports`
// keeps deep imports out). Here the worker-thread runtime is handed to the engine, so that
// `Ferry.open({ threads })` can use it while core/ never imports workers/.
import { Ferry as Engine, type FerryOptions, type RuntimeFactory } from './core/index.ts';
import { createWorkerRuntime } from './workers/index.ts';
import { NatsFerry, type NatsFerryOptions } from './backends/nats/index.ts';

/**
 * An open engine on one data directory: create topics, hand out producers and consumers, redrive
 * dead letters. `Ferry.open` runs partitions on the calling thread (`threads: 0`, the default) or
 * on supervised worker threads (`threads: N | 'auto'`).
 */
export class Ferry extends Engine {
  /**
   * Opens the engine on a data directory, recovering every topic in it. `runtimeFactory` replaces
   * the worker-thread runtime used for `threads > 0` (see `workerRuntimeFactory`).
   * With `{ backend: { kind: 'nats', servers } }` it opens the same API on NATS JetStream instead
   * (see docs/NATS.md): no data directory, the servers keep the data.
   */
  static override open(options: FerryOptions, runtimeFactory?: RuntimeFactory): Promise<Ferry>;
  static override open(options: NatsFerryOptions): Promise<NatsFerry>;
  static override open(options: FerryOptions | NatsFerryOptions, runtimeFactory: RuntimeFactory = createWorkerRuntime): Promise<Ferry | NatsFerry> {
    // The backend is chosen here, at the composition root: core never imports backends/.
    if (typeof options === 'object' && options !== null && 'backend' in options) return NatsFerry.open(options);
    return Engine.open(options, runtimeFactory);
  }
}

export type {
  AlertOptions,
  Backoff,
  CloseOptions,
  Consumer,
  ConsumerFault,
  ConsumerMessageFault,
  ConsumerPartitionFault,
  ConsumerOptions,
  DeadLetterInfo,
  Delivery,
  Description,
  DirectoryFinding,
  DirectoryVerification,
  GroupDescription,
  GroupMember,
  GroupPosition,
  HistoryGroupState,
  HistoryStep,
  MessageHistory,
  ReadOptions,
  ResetGroupOptions,
  ResetResult,
  StoredMessageView,
  TopicDescription,
  EngineMetrics,
  FerryEventMap,
  FerryEventName,
  FerryMetrics,
  GroupMetrics,
  GroupPartitionStats,
  HistogramSnapshot,
  MeterLike,
  HistogramLike,
  OpenTelemetryMetricsOptions,
  MetricsSourceLike,
  PromRegistryLike,
  PartitionMetricsSnapshot,
  TopicMetrics,
  UnavailablePartition,
  FerryOptions,
  FollowOptions,
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
  RunBatchesOptions,
  SettleFailure,
  RunOptions,
  RunHandler,
  ExactlyOnceHandler,
  BatchHandler,
  RuntimeFactory,
  TopicChanges,
  TopicOptions,
  Transaction,
  VerifyOptions,
} from './core/index.ts';
export { FERRY_EVENT_NAMES, registerOpenTelemetryMetrics, registerPrometheusMetrics, followTopic, verifyDataDir } from './core/index.ts';
export {
  CheckpointFailedError,
  ClosedError,
  CorruptStateError,
  DedupWindowFullError,
  GroupConflictError,
  AlreadyRunningError,
  GroupInUseError,
  InvalidMessageError,
  InvalidNameError,
  NotDeadLetterTopicError,
  DeadLetterTopicConflictError,
  ProducerFencedError,
  PartlySettledError,
  PartlyExtendedError,
  HandlerThrewError,
  RequestTimeoutError,
  DuplicateSequenceError,
  ProducersFullError,
  SequenceGapError,
  StaleDeliveryError,
  OnceKeyBusyError,
  TooManyTransactionsError,
  TopicConflictError,
  TopicInUseError,
  TopicOptionFixedError,
  TransactionAbortedError,
  TransactionFencedError,
  TransactionFinishedError,
  TransactionTooLargeError,
  UnknownFormatVersionError,
  UnknownGroupError,
  UnknownTopicError,
} from './core/index.ts';
export { NatsFerry, BackendRequestError, BackendUnavailableError, UnsupportedFeatureError } from './backends/nats/index.ts';
export type { NatsBackendOptions, NatsConsumer, NatsDelivery, NatsFerryOptions, NatsGroupMetrics, NatsMetrics, NatsProducer, NatsTopicMetrics } from './backends/nats/index.ts';
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
