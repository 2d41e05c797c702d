// The FileSystem seam: everything wal/ does to a disk goes through these two interfaces.
// Real: node-file-system.ts. Simulated, with faults: memory-file-system.ts.
//
// Reads and writes are synchronous on purpose: they hit the page cache and cost a few
// microseconds, far less than a trip through libuv's thread pool. Only the slow, blocking
// operations (fdatasync, directory fsync) are asynchronous, so the event loop keeps accepting
// appends while a sync is in flight: that is what makes group commit work.
//
// Failures are thrown as errors carrying a Node-style `code` ('ENOSPC', 'EIO', 'ENOENT', ...);
// wal/ maps them to Ferry's typed errors.

/** An open file. Writes are positioned: the file is never opened in append mode. */
export interface FileHandle {
  /** Current size in bytes, as the page cache sees it. */
  size(): number;
  /** Reads up to `length` bytes at `position` into `buffer` at `bufferOffset`; returns bytes read. */
  read(buffer: Uint8Array, bufferOffset: number, length: number, position: number): number;
  /** Writes the buffers, in order, at `position`. May write fewer bytes than asked (returns the count). */
  writev(buffers: readonly Uint8Array[], position: number): number;
  /** Sets the file's size, dropping or zero-filling the end. */
  truncate(length: number): void;
  /** fdatasync: resolves once every write made before the call is on stable storage. */
  sync(): Promise<void>;
  close(): void;
}

/** A held directory lock; `release` is idempotent. */
export interface LockHandle {
  release(): void;
}

/** How to open a file: read only, read-write of an existing file, or read-write creating it. */
export type OpenMode = 'read' | 'readwrite' | 'create';

/** The disk, as wal/ sees it. Paths are absolute or relative to the process's working directory. */
export interface FileSystem {
  /** Creates the directory and its parents if missing. */
  mkdirp(dir: string): void;
  /** File names (not paths) in `dir`, in any order. */
  list(dir: string): string[];
  exists(path: string): boolean;
  open(path: string, mode: OpenMode): FileHandle;
  remove(path: string): void;
  /** Removes a directory and everything in it (missing is fine). For deleting whole topics. */
  removeTree(dir: string): void;
  rename(from: string, to: string): void;
  /** fsync of the directory: makes created, renamed and removed entries durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes an exclusive lock named by `path` for this process. Throws an error with code 'ELOCKED'
   * and a `holder` description when another live holder has it; takes over a stale lock left by
   * a process that died.
   */
  lock(path: string): LockHandle;
}

/** The `code` of an error thrown by a FileSystem, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;
}

/** An error with a Node-style code, as FileSystem implementations throw. */
export function fsError(code: string, message: string, extra?: Record<string, unknown>): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code }, extra);
}
