// core's facade for the layers above it (workers/, the package root): what they may use of the
// engine, listed by name. Deep imports into core/ from outside it go through here.
export { Ferry } from './ferry.ts';
export type { FerryOptions, RedriveOptions, RuntimeFactory } from './ferry.ts';
export type { AlertOptions } from './alert-options.ts';
export type { GroupPosition, HistoryGroupState, HistoryStep, MessageHistory, ReadOptions, ResetGroupOptions, ResetResult, StoredMessageView } from './admin.ts';
export type { Description, GroupDescription, GroupMember, TopicDescription } from './describe.ts';
export { FERRY_EVENT_NAMES } from './engine-events.ts';
export { registerPrometheusMetrics } from './prom-client-bridge.ts';
export { registerOpenTelemetryMetrics } from './otel-meter-bridge.ts';
export { verifyDataDir } from './verify-dir.ts';
export { followTopic } from './topic-follower.ts';
export type { FollowOptions } from './topic-follower.ts';
export type { DirectoryFinding, DirectoryVerification, VerifyOptions } from './verify-dir.ts';
export type { BatchObservableResultLike, HistogramLike, MeterLike, OpenTelemetryMetricsOptions } from './otel-meter-bridge.ts';
export type { MetricsSourceLike, PromRegistryLike } from './prom-client-bridge.ts';
export type { FerryEventMap, FerryEventName } from './engine-events.ts';
export type { EngineMetrics, FerryMetrics, GroupMetrics, GroupPartitionStats, HistogramSnapshot, PartitionMetricsSnapshot, TopicMetrics, UnavailablePartition } from './metrics.ts';
export { LocalRuntime } from './local-runtime.ts';
export type { LocalRuntimeOptions } from './local-runtime.ts';
export type { PartitionRuntime } from './runtime.ts';
export { commandTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS } from './partition-protocol.ts';
export type { NackCommandOptions, PartitionCommand, PartitionReplies, ReplyOf, SettleItem } from './partition-protocol.ts';
export type { DeliveredMessage, FetchRequest, PartitionLimits, PublishReply, PublishRequest } from './partition-api.ts';
export { describeCommand } from './deadline.ts';
export { deadLetterPublish } from './dead-letter.ts';
export type { DeadLetterInfo } from './dead-letter.ts';
export { hash32, partitionOf } from './hash.ts';
export { recordCacheShare } from './record-cache.ts';
export type { ResolvedTopicOptions, TopicOptions, Backoff } from './topic-options.ts';
export { resolveTopicChanges } from './topic-changes.ts';
export type { TopicChanges } from './topic-changes.ts';
export type { Producer, ProducerOptions, PublishResult } from './producer.ts';
export type { BatchHandler, CloseOptions, Consumer, ConsumerFault, ConsumerMessageFault, ConsumerPartitionFault, ConsumerOptions, Delivery, ExactlyOnceHandler, NackOptions, RunBatchesOptions, RunHandler, RunOptions } from './consumer.ts';
export type { SettleFailure } from './errors.ts';
export type { Message } from './codec.ts';
export type { Ordering } from './records.ts';
export {
  ClosedError,
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
  StaleDeliveryError,
  TopicConflictError,
  TopicInUseError,
  TopicOptionFixedError,
  UnknownGroupError,
  UnknownTopicError,
} from './errors.ts';
export { CheckpointFailedError, CorruptStateError, UnknownFormatVersionError } from './state-errors.ts';
export { DuplicateSequenceError, ProducersFullError, SequenceGapError } from './producer-state.ts';
// For other backends (backends/nats): the same validation, partitioning, backoff and run loop as
// the embedded engine, so a message, an option or a handler behaves alike on every backend.
export { checkShape as checkMessageShape, unencodableValueError } from './codec.ts';
export { checkName, checkTopicNames } from './names.ts';
export { refuseUnknownOptions } from './option-names.ts';
export { resolveTopicOptions, assertSameTopicOptions, assertDeadLetterTarget, DEAD_LETTER_TOPIC_OPTIONS } from './topic-options.ts';
export { backoffDelayMs } from './backoff.ts';
export { runBatchHandlers, runHandlers } from './consumer-run.ts';
export { consumerFailedEvent, messageFault, SettleFaults, tellFault } from './consumer-fault.ts';
export { ackMany, extendMany } from './settle-many.ts';
export { deliveryIterator } from './delivery-iterator.ts';
export type { RunSource } from './consumer-run.ts';
export { leaseIsGone, unknownGroupToDelete } from './errors.ts';
export { errorText, extendMsError } from './delivery.ts';
export { nackOptionsError } from './nack-options.ts';
export type { Transaction } from './transaction.ts';
export type { InDoubtInfo, ResolveInDoubt } from './transactions.ts';
export { OnceKeyBusyError, TooManyTransactionsError, TransactionAbortedError, TransactionFencedError, TransactionFinishedError, TransactionTooLargeError } from './transaction-errors.ts';
// For other backends' metrics and events: the same histograms, counters, event poll and families.
export { DurationHistogram, emptyHistogram } from './metrics-histogram.ts';
export { MAX_PARTITION_EVENTS, zeroCounters } from './partition-metrics.ts';
export type { GroupCounters, PartitionEvent } from './partition-metrics.ts';
export { EngineEvents } from './engine-events.ts';
export type { AlertGroupFigures, AlertInput } from './engine-events.ts';
export { resolveAlertOptions } from './alert-options.ts';
export type { ResolvedAlertOptions } from './alert-options.ts';
export { instrumentsText } from './metrics-text.ts';
export { DESTINATION, GROUP, PARTITION, gaugeInstrument, groupCounterInstruments, latencyInstruments, publishInstruments, redrivenInstrument, unavailableInstrument } from './metric-instruments.ts';
export type { Attributes } from './metric-instruments.ts';
export { DEFAULT_ONCE_KEY_TTL_MS } from './once-keys.ts';
