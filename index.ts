// Ferry's public entry and composition root: every export listed by name (deep imports are kept
// out by package.json), and the threaded runtime installed for `Ferry.open({ threads })`, so core/
// never imports workers/.
import { Ferry } from './core/ferry.ts';
import { createWorkerRuntime } from './workers/index.ts';

Ferry.useThreadedRuntime(createWorkerRuntime);

export { Ferry };
export type { FerryOptions, RedriveOptions } from './core/ferry.ts';
export type { TopicOptions, Backoff } from './core/topic-options.ts';
export type { Producer, ProducerOptions, PublishResult } from './core/producer.ts';
export type { Consumer, ConsumerOptions, Delivery, NackOptions } from './core/consumer.ts';
export type { Message } from './core/codec.ts';
export type { DeadLetterInfo } from './core/dead-letter.ts';
export type { Ordering } from './core/records.ts';
export type { PartitionLimits } from './core/partition-actor.ts';
export {
  ClosedError,
  DedupWindowFullError,
  GroupConflictError,
  InvalidMessageError,
  InvalidNameError,
  ProducerFencedError,
  StaleDeliveryError,
  TopicConflictError,
  UnknownTopicError,
} from './core/errors.ts';
export { SequenceGapError } from './core/producer-state.ts';
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
