// The write-ahead log's surface for the layers above (core/, workers/, props/, bench/).
export { WriteAheadLog } from './log.ts';
export type { AppendInput, AppendResult, ReadOptions, SegmentInfo } from './log.ts';
export type { ReadBatch } from './segment.ts';
export type { BatchHeader } from './batch-format.ts';
export type { WalkVisitor, WantPayload } from './segment-walk.ts';
export type { FsyncPolicy, LogOptions } from './options.ts';
export { DEFAULT_ZERO_FILL_BYTES, MAX_ZERO_FILL_BYTES } from './options.ts';
export type { RecoveryReport, TruncationReport } from './recovery.ts';
export { FerryError, registerErrorCode } from './ferry-error.ts';
export type { FerryErrorWire, FerryErrorOptions } from './ferry-error.ts';
export { showValue } from './show-value.ts';
export {
  CorruptSegmentError,
  DiskFullError,
  FsyncFailedError,
  InvalidArgumentError,
  IoError,
  LockedError,
  LogClosedError,
  OffsetOutOfRangeError,
  OverloadedError,
} from './errors.ts';
export type { Clock, TimerHandle } from './seams/clock.ts';
export { ManualClock } from './seams/clock.ts';
export { realClock } from './seams/real-clock.ts';
export type { Random } from './seams/random.ts';
export { SeededRandom } from './seams/random.ts';
export type { FileSystem, FileHandle, LockHandle, OpenMode } from './seams/file-system.ts';
export { errorCode } from './seams/file-system.ts';
export { nodeFileSystem } from './seams/node-file-system.ts';
export { BoundedFifo } from './fifo.ts';
export { verifyLog } from './verify-log.ts';
export type { BatchVisitor, LogCheck, LogProblem } from './verify-log.ts';
export { LogFollower } from './log-follower.ts';
export type { FollowStart } from './log-follower.ts';
