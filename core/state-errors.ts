// Typed errors about the engine's own durable state (partition checkpoints, the catalog): a
// snapshot that cannot be written, or state on disk that this version cannot read.
import { FerryError, registerErrorCode, type FerryErrorOptions } from '../wal/index.ts';

/**
 * A snapshot (checkpoint) was written by a format version this Ferry does not know: the data
 * directory was last opened by a newer Ferry. Nothing was changed.
 */
export class UnknownFormatVersionError extends FerryError {
  static readonly code = 'UNKNOWN_FORMAT_VERSION';
  constructor(what: string, dir: string, offset: number, version: unknown, known: number) {
    super(
      UnknownFormatVersionError.code,
      `${what} in ${dir} at offset ${offset} has format version ${String(version)}, but this Ferry reads versions up to ${known}; open the data directory with the Ferry version that wrote it (or a newer one)`,
      false,
      { details: { what, dir, offset, version: String(version), known } },
    );
  }
}

/**
 * State whose records passed their checksums but do not decode as what they should be (a snapshot
 * with parts missing or out of order, a catalog record of the wrong shape). Nothing was changed.
 */
export class CorruptStateError extends FerryError {
  static readonly code = 'CORRUPT_STATE';
  constructor(what: string, dir: string, offset: number, reason: string, options?: FerryErrorOptions) {
    super(
      CorruptStateError.code,
      `${what} in ${dir} at offset ${offset} cannot be read (${reason}); restore the directory from a backup, or move it aside to start empty`,
      false,
      { ...options, details: { what, dir, offset, reason } },
    );
  }
}

/**
 * A checkpoint could not be written (disk full, an fsync failure, the log closed): nothing was
 * deleted, and the next retention run tries again. Until one succeeds, recovery replays more log.
 */
export class CheckpointFailedError extends FerryError {
  static readonly code = 'CHECKPOINT_FAILED';
  constructor(where: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(CheckpointFailedError.code, `the checkpoint of ${where} could not be written (${why}); retention retries it on its next run, once the cause is fixed (free disk space)`, true, {
      cause,
      details: { where, ...(cause instanceof FerryError ? { causeCode: cause.code } : {}) },
    });
  }
}

for (const cls of [UnknownFormatVersionError, CorruptStateError, CheckpointFailedError]) registerErrorCode(cls.code, cls as unknown as typeof FerryError);
