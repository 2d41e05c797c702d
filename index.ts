// Ferry's public entry. Lists every export by name; deep imports are kept out by package.json.
// The engine API (Ferry.open, producers, consumers) arrives with the engine core; until then the
// write-ahead log and its seams are the public surface.
export { WriteAheadLog, FerryError, CorruptSegmentError, DiskFullError, FsyncFailedError, InvalidArgumentError, IoError, LockedError, LogClosedError, OffsetOutOfRangeError, OverloadedError, ManualClock, realClock, SeededRandom, nodeFileSystem, MemoryFileSystem } from './wal/index.ts';
export type { AppendInput, AppendResult, ReadOptions, SegmentInfo, ReadBatch, FsyncPolicy, LogOptions, RecoveryReport, TruncationReport, FerryErrorWire, Clock, TimerHandle, Random, FileSystem, FileHandle, LockHandle, DiskFaults } from './wal/index.ts';
