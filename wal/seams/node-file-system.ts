// The real FileSystem seam over Node's `fs`: the only file of wal/ that touches the disk.
// Synchronous positioned reads and writes, asynchronous fdatasync and directory fsync.
import * as fs from 'node:fs';
import { fsError, type FileHandle, type FileSystem, type LockHandle, type OpenMode } from './file-system.ts';

class NodeFileHandle implements FileHandle {
  readonly #fd: number;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  size(): number {
    return fs.fstatSync(this.#fd).size;
  }

  read(buffer: Uint8Array, bufferOffset: number, length: number, position: number): number {
    return fs.readSync(this.#fd, buffer, bufferOffset, length, position);
  }

  writev(buffers: readonly Uint8Array[], position: number): number {
    if (buffers.length === 1) return fs.writeSync(this.#fd, buffers[0]!, 0, buffers[0]!.length, position);
    return fs.writevSync(this.#fd, buffers as Uint8Array[], position);
  }

  truncate(length: number): void {
    fs.ftruncateSync(this.#fd, length);
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.#fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.#fd);
  }
}

const OPEN_FLAGS: Record<OpenMode, number> = {
  read: fs.constants.O_RDONLY,
  readwrite: fs.constants.O_RDWR,
  // Never O_APPEND: Linux ignores the position of pwrite on files opened with it.
  create: fs.constants.O_RDWR | fs.constants.O_CREAT,
};

interface LockOwner {
  readonly pid: number;
  /** Process start time in clock ticks since boot (Linux), so a reused pid is not mistaken for the holder. */
  readonly start: string | null;
}

function processStart(pid: number | 'self'): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.start !== null && fs.existsSync('/proc/self/stat')) return processStart(owner.pid) === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, start: parsed.start ?? null } : null;
  } catch {
    return null; // unreadable or half-written: treat as stale
  }
}

/**
 * Creates the lock file with its contents in one step: write and fsync a temporary file, then
 * link it to the lock's name (link fails if the name exists). A reader never sees a lock file
 * without its owner, so an unreadable lock can safely be judged stale.
 */
function tryCreateLock(path: string, owner: LockOwner): boolean {
  const temp = `${path}.${owner.pid}.${process.hrtime.bigint()}.tmp`;
  const fd = fs.openSync(temp, 'wx');
  try {
    fs.writeSync(fd, JSON.stringify(owner));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * The lock is a file created exclusively (O_EXCL) holding the owner's pid and start time. A holder
 * that is this very process (any thread) counts as live, so a second open in-process is refused.
 * A lock whose process is gone is stale and taken over. Known gap: two processes taking over the
 * same stale lock at the same instant can both succeed; Node offers no flock() to close it.
 */
function takeLock(path: string): LockHandle {
  const me: LockOwner = { pid: process.pid, start: processStart('self') };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreateLock(path, me)) {
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          const owner = readOwner(path);
          if (owner && owner.pid === me.pid && owner.start === me.start) fs.rmSync(path, { force: true });
        },
      };
    }
    const holder = readOwner(path);
    if (holder && isAlive(holder)) {
      const who = holder.pid === process.pid ? `this process (pid ${holder.pid})` : `process ${holder.pid}`;
      throw fsError('ELOCKED', `${path} is held by ${who}`, { holder: who });
    }
    fs.rmSync(path, { force: true }); // stale: its process is gone
  }
  throw fsError('ELOCKED', `${path} could not be taken (another process keeps racing for it)`, { holder: 'an unknown process' });
}

/** The production FileSystem. */
export const nodeFileSystem: FileSystem = {
  mkdirp: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  list: (dir) => fs.readdirSync(dir),
  exists: (path) => fs.existsSync(path),
  open: (path, mode) => new NodeFileHandle(fs.openSync(path, OPEN_FLAGS[mode], 0o644)),
  remove: (path) => fs.rmSync(path, { force: true }),
  removeTree: (dir) => fs.rmSync(dir, { recursive: true, force: true }),
  rename: (from, to) => fs.renameSync(from, to),
  syncDir: (dir) =>
    new Promise((resolve, reject) => {
      fs.open(dir, fs.constants.O_RDONLY, (openErr, fd) => {
        if (openErr) return reject(openErr);
        fs.fsync(fd, (syncErr) => fs.close(fd, () => (syncErr ? reject(syncErr) : resolve())));
      });
    }),
  lock: takeLock,
};
