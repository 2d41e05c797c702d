// The in-memory fault disk: a FileSystem that models a page cache over stable storage and can
// crash (process or power), fail fsync, run out of space, write short and flip bits. Every choice
// comes from the injected Random, so a seed replays a run. Serves the WAL's tests and props/.
//
//   writes -> page cache (MemoryInode.cache) --sync()--> stable storage (MemoryInode.durable)
//   names  -> current directory entries      --syncDir()--> durable directory entries
import { dirname } from 'node:path';
import { fsError, type FileHandle, type FileSystem, type LockHandle, type OpenMode } from './file-system.ts';
import { MemoryInode, type SyncCapture } from './memory-inode.ts';
import type { Random } from './random.ts';

/** Fault rates and limits; change them at any time (the simulator turns faults off to heal). */
export interface DiskFaults {
  /** Probability that a file sync fails with EIO (and, as on Linux, drops the dirty pages' error state). */
  fsyncFailure: number;
  /** Probability that a write stores only a prefix of its bytes. */
  shortWrite: number;
  /** Total bytes the disk holds; writes past it fail with ENOSPC. */
  capacityBytes: number;
  /**
   * A copy-on-write file system (btrfs, ZFS): every write needs free space for its bytes, also
   * over bytes the file already holds. Default false, as ext4 and xfs: a write within a file's
   * size needs none, so appends into space the log zero-filled ahead go on when the disk is full.
   */
  copyOnWrite: boolean;
}

export interface MemoryFileSystemOptions {
  readonly random: Random;
  /** 'auto': syncs complete on a microtask. 'manual': they wait for `releaseSyncs()`. */
  readonly syncs?: 'auto' | 'manual';
  readonly faults?: Partial<DiskFaults>;
}

interface PendingSync {
  readonly label: string;
  readonly complete: (ok: boolean) => void;
}

/** Counts of what the disk did, for reports. */
export interface DiskStats {
  syncs: number;
  failedSyncs: number;
  shortWrites: number;
  diskFull: number;
  crashes: number;
}

export class MemoryFileSystem implements FileSystem {
  readonly faults: DiskFaults;
  readonly stats: DiskStats = { syncs: 0, failedSyncs: 0, shortWrites: 0, diskFull: 0, crashes: 0 };
  readonly #random: Random;
  readonly #syncMode: 'auto' | 'manual';
  #entries = new Map<string, MemoryInode>();
  #durableEntries = new Map<string, MemoryInode>();
  #dirs = new Set<string>(['/', '.']);
  #locks = new Set<string>();
  #pending: PendingSync[] = [];
  #generation = 0;
  #failNext = 0;
  #dirVersion = 0;
  readonly #dirDurableVersion = new Map<string, number>();

  constructor(options: MemoryFileSystemOptions) {
    this.#random = options.random;
    this.#syncMode = options.syncs ?? 'auto';
    this.faults = { fsyncFailure: 0, shortWrite: 0, capacityBytes: Number.POSITIVE_INFINITY, copyOnWrite: false, ...options.faults };
  }

  // --- FileSystem -------------------------------------------------------------------------

  mkdirp(dir: string): void {
    for (let d = dir; !this.#dirs.has(d); d = dirname(d)) this.#dirs.add(d);
  }

  list(dir: string): string[] {
    if (!this.#dirs.has(dir)) throw fsError('ENOENT', `no such directory ${dir}`);
    const names: string[] = [];
    for (const path of this.#entries.keys()) if (dirname(path) === dir) names.push(path.slice(dir.length + 1));
    return names;
  }

  exists(path: string): boolean {
    return this.#entries.has(path) || this.#dirs.has(path);
  }

  open(path: string, mode: OpenMode): FileHandle {
    let inode = this.#entries.get(path);
    if (!inode) {
      if (mode !== 'create') throw fsError('ENOENT', `no such file ${path}`);
      if (!this.#dirs.has(dirname(path))) throw fsError('ENOENT', `no such directory ${dirname(path)}`);
      inode = new MemoryInode();
      this.#entries.set(path, inode);
    }
    return new MemoryFileHandle(this, path, inode, this.#generation, mode !== 'read');
  }

  remove(path: string): void {
    this.#entries.delete(path);
  }

  removeTree(dir: string): void {
    const inside = (path: string) => path === dir || path.startsWith(`${dir}/`);
    for (const path of [...this.#entries.keys()]) if (inside(path)) this.#entries.delete(path);
    for (const d of [...this.#dirs]) if (inside(d)) this.#dirs.delete(d);
  }

  rename(from: string, to: string): void {
    const inode = this.#entries.get(from);
    if (!inode) throw fsError('ENOENT', `no such file ${from}`);
    this.#entries.delete(from);
    this.#entries.set(to, inode);
  }

  syncDir(dir: string): Promise<void> {
    // Like fsync, it covers the entries as they are when it is called, not when it completes.
    const captured = [...this.#entries].filter(([path]) => dirname(path) === dir);
    // A subdirectory removed (removeTree) takes its whole tree with it once its entry's removal
    // is durable, as rmdir then fsync of the parent does on a real file system.
    const subtreeGone = [...this.#durableEntries].filter(([path]) => path.startsWith(`${dir}/`) && dirname(path) !== dir && !this.#dirs.has(`${dir}/${path.slice(dir.length + 1).split('/')[0]!}`));
    const version = ++this.#dirVersion;
    return this.#schedule(`syncDir ${dir}`, () => {
      for (const [path, inode] of subtreeGone) if (this.#durableEntries.get(path) === inode) this.#durableEntries.delete(path);
      // An older directory sync finishing late never undoes a newer one.
      if (version < (this.#dirDurableVersion.get(dir) ?? 0)) return;
      this.#dirDurableVersion.set(dir, version);
      for (const path of [...this.#durableEntries.keys()]) if (dirname(path) === dir) this.#durableEntries.delete(path);
      for (const [path, inode] of captured) this.#durableEntries.set(path, inode);
    });
  }

  lock(path: string): LockHandle {
    if (this.#locks.has(path)) throw fsError('ELOCKED', `${path} is held`, { holder: 'another open log in this process' });
    this.#locks.add(path);
    const generation = this.#generation;
    return {
      release: () => {
        if (generation === this.#generation) this.#locks.delete(path);
      },
    };
  }

  /**
   * This disk as one process sees it: every operation fails (EBADF) once the machine crashes, as a
   * crashed process can do nothing at all. Tests and the simulator open each incarnation of an
   * engine on its own view, so an abandoned one cannot touch the disk of the next.
   */
  processView(): FileSystem {
    const generation = this.#generation;
    const alive = (): void => this.checkGeneration(generation, 'the disk');
    return {
      mkdirp: (dir) => (alive(), this.mkdirp(dir)),
      list: (dir) => (alive(), this.list(dir)),
      exists: (path) => (alive(), this.exists(path)),
      open: (path, mode) => (alive(), this.open(path, mode)),
      remove: (path) => (alive(), this.remove(path)),
      removeTree: (dir) => (alive(), this.removeTree(dir)),
      rename: (from, to) => (alive(), this.rename(from, to)),
      syncDir: (dir) => {
        try {
          alive();
        } catch (error) {
          return Promise.reject(error);
        }
        return this.syncDir(dir);
      },
      lock: (path) => (alive(), this.lock(path)),
    };
  }

  // --- faults and control -------------------------------------------------------------------

  /**
   * Crashes the (simulated) machine. 'process': the page cache survives, open handles, locks and
   * pending sync callbacks do not. 'power': in addition, only stable storage survives; each dirty
   * page is kept, lost or torn at sector granularity, and unsynced directory changes are undone.
   */
  crash(kind: 'process' | 'power'): void {
    this.stats.crashes++;
    this.#generation++;
    this.#locks.clear();
    this.#pending = []; // their callbacks belonged to the dead process
    if (kind === 'process') return;
    this.#entries = new Map(this.#durableEntries);
    const seen = new Set<MemoryInode>();
    for (const inode of this.#entries.values()) {
      if (seen.has(inode)) continue;
      seen.add(inode);
      inode.losePower(this.#random);
    }
  }

  /** Makes the next `count` syncs fail with EIO. */
  failNextSyncs(count = 1): void {
    this.#failNext += count;
  }

  /** Flips one bit of a file's stored bytes (media corruption). */
  flipBit(path: string, position: number, bit: number): void {
    const inode = this.#entries.get(path);
    if (!inode) throw fsError('ENOENT', `no such file ${path}`);
    inode.flipBit(position, bit);
  }

  /** Bytes a file holds in the page cache and on stable storage. */
  fileSizes(path: string): { cached: number; durable: number } | undefined {
    const inode = this.#entries.get(path);
    return inode && { cached: inode.length, durable: inode.durableLength };
  }

  /** Syncs waiting for `releaseSyncs` (manual mode). */
  get pendingSyncs(): number {
    return this.#pending.length;
  }

  /** Completes up to `count` pending syncs, oldest first, or in random order when `shuffle` is set. */
  releaseSyncs(count = Number.POSITIVE_INFINITY, shuffle = false): number {
    let done = 0;
    while (done < count && this.#pending.length > 0) {
      const index = shuffle ? this.#random.int(this.#pending.length) : 0;
      const [next] = this.#pending.splice(index, 1);
      next!.complete(this.#decideSyncOutcome());
      done++;
    }
    return done;
  }

  /** Completes the pending sync at `index` (0 = oldest) out of order, as a thread pool may. */
  releaseSyncAt(index: number): void {
    const [next] = this.#pending.splice(index, 1);
    if (!next) throw new RangeError(`no pending sync at ${index} (${this.#pending.length} pending)`);
    next.complete(this.#decideSyncOutcome());
  }

  // --- used by MemoryFileHandle ---------------------------------------------------------------

  /** @internal */
  checkGeneration(generation: number, path: string): void {
    if (generation !== this.#generation) throw fsError('EBADF', `handle to ${path} belongs to a crashed process`);
  }

  /** @internal Bytes a write may add before the disk is full. */
  freeBytes(): number {
    let used = 0;
    const seen = new Set<MemoryInode>();
    for (const inode of this.#entries.values()) if (!seen.has(inode)) { seen.add(inode); used += inode.length; }
    return this.faults.capacityBytes - used;
  }

  /** @internal */
  chance(p: number): boolean {
    return p > 0 && this.#random.chance(p);
  }

  /** @internal */
  randomInt(bound: number): number {
    return this.#random.int(bound);
  }

  /** @internal Schedules a file sync whose captured pages become durable on success. */
  scheduleFileSync(path: string, inode: MemoryInode, capture: SyncCapture): Promise<void> {
    return this.#schedule(`sync ${path}`, () => inode.persist(capture), () => inode.failSync(capture));
  }

  #decideSyncOutcome(): boolean {
    if (this.#failNext > 0) {
      this.#failNext--;
      return false;
    }
    return !this.chance(this.faults.fsyncFailure);
  }

  #schedule(label: string, onSuccess: () => void, onFailure?: () => void): Promise<void> {
    this.stats.syncs++;
    return new Promise((resolve, reject) => {
      const complete = (ok: boolean): void => {
        if (ok) {
          onSuccess();
          resolve();
        } else {
          this.stats.failedSyncs++;
          onFailure?.();
          reject(fsError('EIO', `${label} failed (injected)`));
        }
      };
      if (this.#syncMode === 'manual') this.#pending.push({ label, complete });
      else {
        const generation = this.#generation;
        queueMicrotask(() => {
          if (generation === this.#generation) complete(this.#decideSyncOutcome());
        });
      }
    });
  }
}

class MemoryFileHandle implements FileHandle {
  readonly #fs: MemoryFileSystem;
  readonly #path: string;
  readonly #inode: MemoryInode;
  readonly #generation: number;
  readonly #writable: boolean;
  #closed = false;

  constructor(fs: MemoryFileSystem, path: string, inode: MemoryInode, generation: number, writable: boolean) {
    this.#fs = fs;
    this.#path = path;
    this.#inode = inode;
    this.#generation = generation;
    this.#writable = writable;
  }

  #check(write: boolean): void {
    if (this.#closed) throw fsError('EBADF', `${this.#path} is closed`);
    this.#fs.checkGeneration(this.#generation, this.#path);
    if (write && !this.#writable) throw fsError('EBADF', `${this.#path} is open read-only`);
  }

  size(): number {
    this.#check(false);
    return this.#inode.length;
  }

  read(buffer: Uint8Array, bufferOffset: number, length: number, position: number): number {
    this.#check(false);
    return this.#inode.read(buffer, bufferOffset, length, position);
  }

  writev(buffers: readonly Uint8Array[], position: number): number {
    this.#check(true);
    let total = 0;
    for (const b of buffers) total += b.length;
    let allowed = total;
    const growth = this.#fs.faults.copyOnWrite ? total : Math.max(0, position + total - this.#inode.length);
    const free = this.#fs.freeBytes();
    if (growth > free) {
      allowed = Math.max(0, total - (growth - Math.max(0, free)));
      if (allowed === 0) {
        this.#fs.stats.diskFull++;
        throw fsError('ENOSPC', `no space left writing ${this.#path}`);
      }
    }
    if (allowed === total && total > 1 && this.#fs.chance(this.#fs.faults.shortWrite)) {
      allowed = 1 + this.#fs.randomInt(total - 1);
      this.#fs.stats.shortWrites++;
    }
    let written = 0;
    for (const b of buffers) {
      if (written >= allowed) break;
      const part = b.subarray(0, Math.min(b.length, allowed - written));
      this.#inode.write(part, position + written);
      written += part.length;
    }
    return written;
  }

  truncate(length: number): void {
    this.#check(true);
    this.#inode.truncate(length);
  }

  sync(): Promise<void> {
    try {
      this.#check(false);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#fs.scheduleFileSync(this.#path, this.#inode, this.#inode.capture());
  }

  close(): void {
    this.#closed = true;
  }
}
