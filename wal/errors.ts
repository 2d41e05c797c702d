// Typed errors of the write-ahead log. Each names what went wrong and what the user can do.
import { FerryError, registerErrorCode, type FerryErrorOptions } from './ferry-error.ts';

/** A caller passed a value the log cannot accept (bad option, bad offset, empty batch). */
export class InvalidArgumentError extends FerryError {
  static readonly code = 'INVALID_ARGUMENT';
  constructor(message: string, options?: FerryErrorOptions) {
    super(InvalidArgumentError.code, message, false, options);
  }
}

/** The data directory is held by another open log, in this process or another one. */
export class LockedError extends FerryError {
  static readonly code = 'LOCKED';
  constructor(dir: string, holder: string, options?: FerryErrorOptions) {
    super(
      LockedError.code,
      `data directory ${dir} is locked by ${holder}; close that instance first, or use another directory`,
      false,
      { ...options, details: { dir, holder } },
    );
  }
}

/** A sealed or mid-log batch failed its checks: the log will not open (or read) past it. */
export class CorruptSegmentError extends FerryError {
  static readonly code = 'CORRUPT_SEGMENT';
  constructor(segment: string, position: number, reason: string, options?: FerryErrorOptions & { found?: 'open' | 'read' }) {
    const what =
      options?.found === 'read'
        ? 'it was not returned. Restore the file from a replica or backup, or reopen the log with ' +
          '{ repair: true } to truncate the log there and drop everything after it'
        : 'data that was synced follows it, so it was not truncated. Restore the file from a replica or ' +
          'backup, or open with { repair: true } to truncate the log there and drop everything after it';
    super(CorruptSegmentError.code, `corrupt batch in ${segment} at byte ${position} (${reason}); ${what}`, false, {
      ...options,
      details: { segment, position, reason, ...options?.details },
    });
  }
}

/** An fsync failed. The log refuses all further writes: reopen it to recover from disk. */
export class FsyncFailedError extends FerryError {
  static readonly code = 'FSYNC_FAILED';
  constructor(path: string, options?: FerryErrorOptions) {
    super(
      FsyncFailedError.code,
      `fsync of ${path} failed; unsynced writes may be lost, so this log accepts no more appends. ` +
        `Check the disk, then close and reopen the log to recover from what is on disk`,
      false,
      { ...options, details: { path } },
    );
  }
}

/** The disk is full. Nothing of the rejected batch stays in the log; retry once space is freed. */
export class DiskFullError extends FerryError {
  static readonly code = 'DISK_FULL';
  constructor(path: string, options?: FerryErrorOptions) {
    super(
      DiskFullError.code,
      `no space left on the device holding ${path}; the batch was not appended. Free space ` +
        `(or let retention delete old segments) and retry`,
      true,
      { ...options, details: { path } },
    );
  }
}

/** Any other I/O failure. The log stops accepting writes; reopen it once the cause is fixed. */
export class IoError extends FerryError {
  static readonly code = 'IO_ERROR';
  constructor(operation: string, path: string, options?: FerryErrorOptions) {
    super(IoError.code, `${operation} of ${path} failed: ${String((options?.cause as Error | undefined)?.message ?? 'unknown error')}; reopen the log once the disk is healthy`, false, {
      ...options,
      details: { operation, path },
    });
  }
}

/** The log was closed (or failed) before or while the call ran. */
export class LogClosedError extends FerryError {
  static readonly code = 'LOG_CLOSED';
  constructor(dir: string, options?: FerryErrorOptions) {
    super(LogClosedError.code, `the log in ${dir} is closed; open it again to use it`, false, options);
  }
}

/** A read asked for an offset the log does not hold (deleted by retention, or not yet written). */
export class OffsetOutOfRangeError extends FerryError {
  static readonly code = 'OFFSET_OUT_OF_RANGE';
  constructor(offset: number, startOffset: number, nextOffset: number) {
    super(
      OffsetOutOfRangeError.code,
      `offset ${offset} is outside the log's range [${startOffset}, ${nextOffset}); read from startOffset instead`,
      false,
      { details: { offset, startOffset, nextOffset } },
    );
  }
}

/** A bounded queue is full (appends waiting for fsync, parked fetches, requests for a restarting shard); back off and retry. */
export class OverloadedError extends FerryError {
  static readonly code = 'OVERLOADED';
  /** `what`: which limit was reached, for the message (default: appends waiting for fsync). */
  constructor(limit: number, what = `more than ${limit} appends are waiting for fsync`) {
    super(OverloadedError.code, `${what}; wait for some to finish, then retry`, true, {
      details: { limit, what },
    });
  }
}

for (const cls of [InvalidArgumentError, LockedError, CorruptSegmentError, FsyncFailedError, DiskFullError, IoError, LogClosedError, OffsetOutOfRangeError, OverloadedError]) {
  registerErrorCode(cls.code, cls as unknown as typeof FerryError);
}
