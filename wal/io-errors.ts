// Maps a FileSystem failure to Ferry's typed errors; Ferry errors pass through unchanged.
import { FerryError } from './ferry-error.ts';
import { DiskFullError, IoError, LockedError } from './errors.ts';
import { errorCode } from './seams/file-system.ts';

export function mapIoError(error: unknown, operation: string, path: string): FerryError {
  if (error instanceof FerryError) return error;
  switch (errorCode(error)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new DiskFullError(path, { cause: error });
    case 'ELOCKED':
      return new LockedError(path, String((error as { holder?: unknown }).holder ?? 'another process'), { cause: error });
    default:
      return new IoError(operation, path, { cause: error });
  }
}
