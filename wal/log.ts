// The write-ahead log: one directory of segments, appended by one owner (a partition actor), on
// one thread. Appends are written at once (positioned writes to the page cache) and confirmed
// per the fsync policy by GroupCommit; reads return CRC-checked batches up to a given end.
//
//   append ──► frame header ──► writev at active.sizeBytes ──► GroupCommit.waitFor(nextOffset)
//                 │ segment full?                 │                 │ sync covers it
//                 └► roll: new file, old one      │                 └► resolve { baseOffset, nextOffset }
//                    sealed (cut to its end); its └► less than half a chunk of zeros ahead? on the
//                    index is saved once a sync       next turn, write the next chunk of zeros (the
//                    has covered all of it            next sync takes them; zero-tail.ts says why)
import { dirname, join } from 'node:path';
import { HEADER_BYTES } from './batch-format.ts';
import { SMALL_FRAME_BYTES, frameBatches, framingBytes } from './frame-batches.ts';
import { FsyncFailedError, InvalidArgumentError, LogClosedError, OffsetOutOfRangeError, OverloadedError } from './errors.ts';
import type { FerryError } from './ferry-error.ts';
import { GroupCommit } from './group-commit.ts';
import { mapIoError } from './io-errors.ts';
import { resolveLogOptions, type FsyncPolicy, type LogOptions, type ResolvedLogOptions } from './options.ts';
import { recoverLog, saveIndex, type RecoveryReport } from './recovery.ts';
import type { FileHandle, LockHandle } from './seams/file-system.ts';
import { Segment, type ReadBatch } from './segment.ts';
import { LOCK_FILE, indexPath, segmentPath } from './segment-files.ts';
import { SparseIndex } from './sparse-index.ts';
import { walkSegment, type WalkVisitor, type WantPayload } from './segment-walk.ts';
import { writeZeros } from './zero-tail.ts';
import type { AppendInput } from './frame-batches.ts';
import { showValue } from './show-value.ts';

export type { AppendInput } from './frame-batches.ts';

/** The framing buffer grows for a large appendMany, and is given back above this size. */
const MAX_RETAINED_FRAME_BYTES = 4 * 1024 * 1024;

/** Offsets given to an appended batch: [baseOffset, nextOffset). */
export interface AppendResult {
  readonly baseOffset: number;
  readonly nextOffset: number;
}

/** Options of `read`. */
export interface ReadOptions {
  /** Stop after about this many bytes (the first batch is returned whole). Default 1 MiB. */
  readonly maxBytes?: number;
  /** Return no batch starting at or after this offset. Default: `committedEnd`. */
  readonly upToOffset?: number;
}

/** One segment as reported by `segments()`, for retention decisions. */
export interface SegmentInfo {
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly sizeBytes: number;
  readonly maxTimestamp: number;
  readonly active: boolean;
}

function checkAppend(input: AppendInput, maxBatchBytes: number): void {
  const { recordCount, payload, timestamp } = input;
  if (!Number.isInteger(recordCount) || recordCount < 1 || recordCount > 0x7fffffff) throw new InvalidArgumentError(`recordCount must be an integer from 1 to 2^31-1 (got ${showValue(recordCount)})`);
  if (!(payload instanceof Uint8Array)) throw new InvalidArgumentError('payload must be a Uint8Array (already encoded bytes)');
  if (payload.length + HEADER_BYTES > maxBatchBytes) throw new InvalidArgumentError(`batch of ${payload.length + HEADER_BYTES} bytes exceeds maxBatchBytes (${maxBatchBytes}); split it`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new InvalidArgumentError(`timestamp must be a non-negative integer of milliseconds (got ${showValue(timestamp)})`);
  const { type = 0, producerId = 0, producerEpoch = 0, baseSequence = -1 } = input;
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new InvalidArgumentError(`type must be an integer from 0 to 255 (got ${showValue(type)})`);
  if (input.flags !== undefined && (!Number.isInteger(input.flags) || input.flags < 0 || input.flags > 0xffff)) throw new InvalidArgumentError(`flags must be an integer from 0 to 65535 (got ${showValue(input.flags)})`);
  if (!Number.isSafeInteger(producerId) || producerId < 0) throw new InvalidArgumentError(`producerId must be a non-negative safe integer (got ${showValue(producerId)})`);
  if (!Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > 0xffffffff) throw new InvalidArgumentError(`producerEpoch must fit in 32 bits (got ${showValue(producerEpoch)})`);
  if (!Number.isInteger(baseSequence) || baseSequence < -1 || baseSequence > 0x7fffffff) throw new InvalidArgumentError(`baseSequence must be -1 or a 31-bit integer (got ${showValue(baseSequence)})`);
}

/**
 * A segmented, checksummed, crash-safe append-only log. Single owner, single thread: not safe to
 * share between threads, and a directory can be open in only one log at a time (it is locked).
 */
export class WriteAheadLog {
  /** What recovery found and did when this log was opened. */
  readonly recovery: RecoveryReport;
  readonly #o: ResolvedLogOptions;
  /** Writes of this turn under `fsync: 'none'`, confirmed together on the next (see #nextTurn). */
  #turnWaiters: (() => void)[] = [];
  readonly #lock: LockHandle;
  readonly #segments: Segment[];
  readonly #commit: GroupCommit;
  /** Reused for every append: writes are synchronous, so the bytes are in the kernel before reuse. */
  #frame = new Uint8Array(SMALL_FRAME_BYTES);
  /** Sealed segments whose index file waits for a sync to cover them. */
  #unindexed: Segment[] = [];
  #indexSaves = new Set<Promise<void>>();
  /** Read handles of sealed segments, least recently used first. */
  #readHandles = new Map<Segment, FileHandle>();
  #dirDirty = false;
  /** A zero fill is scheduled for the next turn. */
  #zeroFillQueued = false;
  #failure: FerryError | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedLogOptions, lock: LockHandle, segments: Segment[], recovery: RecoveryReport) {
    this.#o = options;
    this.#lock = lock;
    this.#segments = segments;
    this.recovery = recovery;
    this.#commit = new GroupCommit(
      {
        policy: options.fsync,
        intervalMs: options.fsyncIntervalMs,
        clock: options.clock,
        maxWaiters: options.maxPendingAppends,
        source: { beginSync: () => this.#beginSync() },
        onSynced: (end) => this.#saveIndexesBelow(end),
        onFailure: (error) => this.#fail(error instanceof FsyncFailedError ? error : new FsyncFailedError(this.#o.dir, { cause: error })),
      },
      this.#active.endOffset, // recovery leaves nothing unsynced behind
    );
  }

  /** Opens (creating if needed) the log in `options.dir`, recovering it from what is on disk. */
  static async open(options: LogOptions): Promise<WriteAheadLog> {
    const o = resolveLogOptions(options);
    let lock: LockHandle;
    try {
      o.fs.mkdirp(o.dir);
      lock = o.lock ? o.fs.lock(join(o.dir, LOCK_FILE)) : { release() {} };
    } catch (error) {
      throw mapIoError(error, 'lock', o.dir);
    }
    try {
      // A new log directory is durable only once its parent's entry for it is (and so on up).
      for (let d = o.dir, i = 0; i < 4 && dirname(d) !== d; d = dirname(d), i++) await o.fs.syncDir(dirname(d));
      const { segments, report } = await recoverLog(o);
      return new WriteAheadLog(o, lock, segments, report);
    } catch (error) {
      lock.release();
      throw mapIoError(error, 'open', o.dir); // a failed directory sync is an IO_ERROR, not a raw EIO
    }
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  get dir(): string {
    return this.#o.dir;
  }

  get fsyncPolicy(): FsyncPolicy {
    return this.#o.fsync;
  }

  /** First offset still in the log (earlier ones were deleted by retention). */
  get startOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  /** Offset the next appended record will get. */
  get nextOffset(): number {
    return this.#active.endOffset;
  }

  /** End (exclusive) of what is on stable storage. */
  get syncedEnd(): number {
    return this.#commit.syncedEnd;
  }

  /** End (exclusive) of what appends have been confirmed for: what consumers may be shown. */
  get committedEnd(): number {
    return this.#o.fsync === 'none' ? this.nextOffset : this.#commit.syncedEnd;
  }

  /** Appends waiting for a sync. */
  get pendingAppends(): number {
    return this.#commit.pending;
  }

  /** True when the next append would be refused with OVERLOADED. */
  get saturated(): boolean {
    return this.#o.fsync !== 'none' && this.#commit.saturated;
  }

  /** The error that stopped this log, if one did. */
  get failure(): FerryError | undefined {
    return this.#failure;
  }

  /**
   * Appends one batch. It is written before this returns; the promise resolves with its offsets
   * once it is confirmed per the fsync policy, or rejects (DISK_FULL, FSYNC_FAILED, IO_ERROR,
   * OVERLOADED, LOG_CLOSED, INVALID_ARGUMENT). A rejected append left nothing in the log.
   */
  append(input: AppendInput): Promise<AppendResult> {
    try {
      const [result] = this.#write([input]);
      if (this.#o.fsync === 'none') return this.#nextTurn(result!);
      return this.#commit.waitFor(result!.nextOffset).then(() => result!);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Appends several batches atomically, in one write to one segment (rolling first if they do not
   * fit): all are written before this returns, or none is. Resolves with their offsets, in order,
   * once confirmed. This is how a caller coalesces concurrent small appends into one system call.
   */
  appendMany(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    try {
      const results = this.#write(inputs);
      if (results.length === 0) return Promise.resolve(results);
      if (this.#o.fsync === 'none') return this.#nextTurn(results);
      return this.#commit.waitFor(this.nextOffset).then(() => results);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Confirms a write under `fsync: 'none'` on the next turn of the event loop, with the others of
   * this turn: confirmed at once (a resolved promise), a loop of `await publish()` never left the
   * microtask queue, and timers, signals and I/O starved (the second new-user trial).
   */
  #nextTurn<T>(value: T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.#turnWaiters.push(() => resolve(value)) > 1) return;
      this.#o.clock.defer(() => {
        const waiters = this.#turnWaiters;
        this.#turnWaiters = [];
        for (const confirm of waiters) confirm();
      });
    });
  }

  #write(inputs: readonly AppendInput[]): AppendResult[] {
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw new LogClosedError(this.#o.dir);
    let total = 0;
    let records = 0;
    for (const input of inputs) {
      checkAppend(input, this.#o.maxBatchBytes);
      total += HEADER_BYTES + input.payload.length;
      records += input.recordCount;
    }
    if (inputs.length === 0) return [];
    if (this.saturated) throw new OverloadedError(this.#o.maxPendingAppends);
    const active = this.#active;
    // Roll when the segment is full, or before offsets in it would outgrow the index's 32 bits.
    if (active.sizeBytes > 0 && (active.sizeBytes + total > this.#o.segmentBytes || active.endOffset + records - active.baseOffset > 0xffffffff)) this.#roll();
    const segment = this.#active;
    const frames = this.#frames(segment, inputs);
    this.#writeAll(segment, frames.buffers, total);
    // Only now, with every byte written, does the log's state move.
    const results: AppendResult[] = [];
    let position = segment.sizeBytes;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      segment.index.observe(segment.endOffset, position);
      results.push({ baseOffset: segment.endOffset, nextOffset: segment.endOffset + input.recordCount });
      position += HEADER_BYTES + input.payload.length;
      segment.endOffset += input.recordCount;
      if (input.timestamp > segment.maxTimestamp) segment.maxTimestamp = input.timestamp;
    }
    segment.sizeBytes = position;
    segment.fileBytes = Math.max(segment.fileBytes, position);
    segment.lastCrc = frames.lastCrc;
    segment.dirty = true;
    this.#queueZeroFill(segment);
    if (this.#frame.length > MAX_RETAINED_FRAME_BYTES) this.#frame = new Uint8Array(SMALL_FRAME_BYTES); // bounded between calls
    return results;
  }

  /** Frames `inputs` in the reused buffer (grown for the call if needed). */
  #frames(segment: Segment, inputs: readonly AppendInput[]): { buffers: Uint8Array[]; lastCrc: number } {
    const need = framingBytes(inputs);
    if (this.#frame.length < need) this.#frame = new Uint8Array(Math.max(need, 2 * this.#frame.length));
    return frameBatches(this.#frame, inputs, segment.endOffset, segment.lastCrc, this.#commit.syncedEnd);
  }

  /** Writes every byte or leaves the segment as it was (a short write is retried, a failed one undone). */
  #writeAll(segment: Segment, buffers: Uint8Array[], length: number): void {
    const handle = segment.handle!;
    const start = segment.sizeBytes;
    let written = 0;
    try {
      while (written < length) {
        let skip = written;
        const rest: Uint8Array[] = [];
        for (const b of buffers) {
          if (skip >= b.length) { skip -= b.length; continue; }
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
        const n = handle.writev(rest, start + written);
        if (n <= 0) throw Object.assign(new Error(`write to ${segment.path} made no progress`), { code: 'EIO' });
        written += n;
      }
    } catch (error) {
      const mapped = mapIoError(error, 'write', segment.path);
      try {
        if (written > 0) {
          handle.truncate(start); // the zeros ahead go too; the next write lays new ones
          segment.fileBytes = start;
        }
      } catch (truncateError) {
        throw this.#fail(mapIoError(truncateError, 'truncate', segment.path));
      }
      if (mapped.code !== 'DISK_FULL') throw this.#fail(mapped);
      throw mapped;
    }
  }

  /** Seals the active segment and starts a new one at its end offset. */
  #roll(): void {
    const old = this.#active;
    const base = old.endOffset;
    const path = segmentPath(this.#o.dir, base);
    let handle: FileHandle;
    try {
      handle = this.#o.fs.open(path, 'create');
      if (handle.size() > 0) handle.truncate(0); // a leftover from a cut tail
    } catch (error) {
      const mapped = mapIoError(error, 'create segment', path);
      if (mapped.code !== 'DISK_FULL') throw this.#fail(mapped);
      throw mapped;
    }
    if (old.fileBytes > old.sizeBytes) {
      // A sealed segment ends at its last batch, as before zero fill: its index, `ferry verify`
      // and older readers see the file they know. A crash before this is durable leaves the
      // zeros, which recovery reads as the clean end (the next segment starts right there).
      try {
        old.handle!.truncate(old.sizeBytes);
      } catch (error) {
        throw this.#fail(mapIoError(error, 'truncate', old.path));
      }
      old.fileBytes = old.sizeBytes;
      old.dirty = true; // the next sync makes the new size durable before the index vouches for it
    }
    old.sealed = true;
    this.#unindexed.push(old);
    this.#segments.push(
      new Segment({ baseOffset: base, path, indexPath: indexPath(this.#o.dir, base), index: new SparseIndex(base, this.#o.indexIntervalBytes), sizeBytes: 0, endOffset: base, lastCrc: old.lastCrc, maxTimestamp: 0, handle }),
    );
    this.#dirDirty = true;
    // Under `none` nobody waits for syncs, but a sealed segment must still reach the disk.
    if (this.#o.fsync === 'none') this.#commit.syncNow(this.nextOffset).then(() => this.#saveIndexesBelow(this.#commit.syncedEnd), () => {});
  }

  /**
   * Once fewer than half a chunk of zeros lie ahead of the append position, writes the next chunk
   * on the next turn: after this append's sync has started, so the write (about 1 ms per MiB on a
   * real disk) delays no confirm, and well before appends reach it. The next sync makes it durable.
   */
  #queueZeroFill(segment: Segment): void {
    const chunk = this.#o.zeroFillBytes;
    if (chunk === 0 || this.#zeroFillQueued || segment.fileBytes - segment.sizeBytes >= chunk / 2 || segment.fileBytes >= this.#o.segmentBytes) return;
    this.#zeroFillQueued = true;
    this.#o.clock.defer(() => {
      this.#zeroFillQueued = false;
      const active = this.#active;
      if (this.#failure || this.#closing || active.sealed || !active.handle) return;
      // To the chunk boundary at least half a chunk past what the file holds: the disk sees
      // aligned, chunk-sized writes, and at least half a chunk lies ahead afterwards.
      const to = Math.min(Math.ceil((active.fileBytes + chunk / 2) / chunk) * chunk, this.#o.segmentBytes);
      if (to <= active.fileBytes) return;
      // A failure (a full disk) only means no space is reserved: appends write past the end, as
      // without zero fill, and meet the error themselves. Zeros that did land are harmless.
      const { written } = writeZeros(active.handle, active.fileBytes, to);
      active.fileBytes += written;
      if (written > 0) active.dirty = true;
    });
  }

  /**
   * A log closed cleanly leaves no zeros behind: its files look as they did before zero fill, and
   * an idle partition holds no reserved space. (Best effort: zeros left by a failure here, or by a
   * crash, are read as the clean end at the next open.)
   */
  #cutZeroTail(): void {
    const active = this.#active;
    if (active.fileBytes <= active.sizeBytes || !active.handle) return;
    try {
      active.handle.truncate(active.sizeBytes);
      active.fileBytes = active.sizeBytes;
      active.dirty = true;
    } catch {
      // the zeros stay: harmless
    }
  }

  #beginSync(): { covers: number; done: Promise<void> } {
    const covers = this.nextOffset;
    const work: Promise<void>[] = [];
    for (const segment of this.#segments) {
      if (!segment.dirty) continue;
      segment.dirty = false;
      work.push(segment.handle!.sync());
    }
    if (this.#dirDirty) {
      this.#dirDirty = false;
      work.push(this.#o.fs.syncDir(this.#o.dir));
    }
    if (work.length === 0) return { covers, done: Promise.resolve() };
    const started = this.#o.clock.monotonicNow();
    return { covers, done: Promise.all(work).then(() => this.#o.onSyncMs(this.#o.clock.monotonicNow() - started)) };
  }

  #saveIndexesBelow(syncedEnd: number): void {
    if (this.#unindexed.length === 0) return;
    const ready = this.#unindexed.filter((s) => s.endOffset <= syncedEnd);
    this.#unindexed = this.#unindexed.filter((s) => s.endOffset > syncedEnd);
    for (const segment of ready) {
      const save = this.#syncCut(segment).then((synced) => (synced ? saveIndex(this.#o, segment) : undefined)).finally(() => {
        this.#indexSaves.delete(save);
        if (segment.handle && this.#active !== segment) {
          segment.handle.close(); // reads reopen it read-only, through the bounded handle cache
          segment.handle = undefined;
        }
      });
      this.#indexSaves.add(save);
    }
  }

  /**
   * The cut that sealed a zero-filled segment (#roll) may not be synced yet, if no sync began after
   * it (the append that rolled failed): sync it before the index vouches for the cut size, and
   * before its handle is closed. A failure stops the log, as any failed sync does (and no index
   * is saved: the next open rescans the segment). Resolves false then.
   */
  async #syncCut(segment: Segment): Promise<boolean> {
    if (!segment.dirty || !segment.handle) return true;
    segment.dirty = false;
    try {
      await segment.handle.sync();
      return true;
    } catch (error) {
      this.#fail(new FsyncFailedError(this.#o.dir, { cause: error }));
      return false;
    }
  }

  #fail(error: FerryError): FerryError {
    if (!this.#failure) {
      this.#failure = error;
      this.#commit.fail(error);
    }
    return this.#failure;
  }

  /** Forces a sync of everything written so far, whatever the policy. */
  sync(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return this.#commit.syncNow(this.nextOffset);
  }

  /**
   * Batches from the one holding `fromOffset` onwards, CRC-checked, up to `upToOffset` (default
   * `committedEnd`) and about `maxBytes`. Throws OFFSET_OUT_OF_RANGE outside [startOffset,
   * nextOffset] and CORRUPT_SEGMENT for a batch that fails its checks (it is never returned).
   */
  read(fromOffset: number, options: ReadOptions = {}): ReadBatch[] {
    if (this.#closing) throw new LogClosedError(this.#o.dir);
    const upTo = Math.min(options.upToOffset ?? this.committedEnd, this.nextOffset);
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    if (Number.isNaN(upTo) || !(maxBytes > 0)) throw new InvalidArgumentError(`read needs a positive maxBytes and a numeric upToOffset (got maxBytes ${showValue(options.maxBytes)}, upToOffset ${showValue(options.upToOffset)})`);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < this.startOffset || fromOffset > this.nextOffset) {
      throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.nextOffset);
    }
    const out: ReadBatch[] = [];
    let taken = 0;
    for (let i = this.#segmentIndexOf(fromOffset); i < this.#segments.length && fromOffset < upTo && taken < maxBytes; i++) {
      const segment = this.#segments[i]!;
      if (segment.baseOffset >= upTo) break;
      if (segment.endOffset <= fromOffset) continue;
      let result: { taken: number; complete: boolean };
      try {
        result = segment.read(this.#handleFor(segment), Math.max(fromOffset, segment.baseOffset), upTo, maxBytes - taken, out);
      } catch (error) {
        throw mapIoError(error, 'read', segment.path);
      }
      taken += result.taken;
      if (!result.complete) break; // the rest of this segment comes first, in a later read
    }
    return out;
  }

  /**
   * Visits the batches from the one holding `fromOffset` up to `upToOffset` (at most `nextOffset`):
   * every header, and the payload (CRC-checked; a view that stays valid, as `read`'s) only of those
   * `want` asks for. For replay, which needs few payloads: it reads about the headers' bytes, not
   * the log's. Same errors as `read`.
   */
  walk(fromOffset: number, upToOffset: number, want: WantPayload, visit: WalkVisitor): void {
    if (this.#closing) throw new LogClosedError(this.#o.dir);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < this.startOffset || fromOffset > this.nextOffset) throw new OffsetOutOfRangeError(fromOffset, this.startOffset, this.nextOffset);
    const upTo = Math.min(upToOffset, this.nextOffset);
    // The caller's own errors pass through as thrown; only the walk's are mapped.
    let callerError: { error: unknown } | undefined;
    const guarded = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
      try {
        return fn(...args);
      } catch (error) {
        callerError = { error };
        throw error;
      }
    };
    const wantGuarded = guarded(want);
    const visitGuarded = guarded(visit);
    for (let i = this.#segmentIndexOf(fromOffset); i < this.#segments.length && this.#segments[i]!.baseOffset < upTo; i++) {
      const segment = this.#segments[i]!;
      if (segment.endOffset <= fromOffset) continue;
      try {
        walkSegment(segment, this.#handleFor(segment), Math.max(fromOffset, segment.baseOffset), upTo, wantGuarded, visitGuarded);
      } catch (error) {
        if (callerError) throw callerError.error;
        throw mapIoError(error, 'read', segment.path);
      }
    }
  }

  #segmentIndexOf(offset: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #handleFor(segment: Segment): FileHandle {
    if (segment.handle) return segment.handle;
    const cached = this.#readHandles.get(segment);
    if (cached) {
      this.#readHandles.delete(segment);
      this.#readHandles.set(segment, cached);
      return cached;
    }
    const handle = this.#o.fs.open(segment.path, 'read');
    this.#readHandles.set(segment, handle);
    for (const [old, oldHandle] of this.#readHandles) {
      if (this.#readHandles.size <= this.#o.maxOpenSegments) break;
      oldHandle.close();
      this.#readHandles.delete(old);
    }
    return handle;
  }

  /** Segments in offset order, for retention decisions. */
  segments(): SegmentInfo[] {
    return this.#segments.map((s) => ({ baseOffset: s.baseOffset, endOffset: s.endOffset, sizeBytes: s.sizeBytes, maxTimestamp: s.maxTimestamp, active: s === this.#active }));
  }

  /**
   * Retention: deletes every sealed, synced segment that lies wholly below `offset`. The active
   * segment is never deleted. Resolves with the number of segments removed.
   */
  async deleteBefore(offset: number): Promise<number> {
    if (this.#failure) throw this.#failure;
    if (this.#closing) throw new LogClosedError(this.#o.dir);
    const limit = Math.min(offset, this.#commit.syncedEnd);
    let removed = 0;
    while (this.#segments.length > 1 && this.#segments[0]!.endOffset <= limit && !this.#unindexed.includes(this.#segments[0]!)) {
      const segment = this.#segments.shift()!;
      this.#readHandles.get(segment)?.close();
      this.#readHandles.delete(segment);
      segment.handle?.close();
      segment.handle = undefined;
      // Index first: a crash in between leaves a segment without index, which is merely rescanned.
      this.#o.fs.remove(segment.indexPath);
      this.#o.fs.remove(segment.path);
      removed++;
    }
    if (removed > 0) {
      try {
        await this.#o.fs.syncDir(this.#o.dir);
      } catch (error) {
        throw this.#fail(new FsyncFailedError(this.#o.dir, { cause: error }));
      }
    }
    return removed;
  }

  /**
   * Syncs what was written, waits for the appends in flight, closes the files and releases the
   * directory lock. Later appends reject with LOG_CLOSED. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (!this.#failure) {
      this.#cutZeroTail();
      await this.#commit.syncNow(this.nextOffset).catch(() => {});
      await Promise.allSettled([...this.#indexSaves]);
    }
    this.#commit.stop();
    for (const handle of this.#readHandles.values()) handle.close();
    this.#readHandles.clear();
    for (const segment of this.#segments) {
      segment.handle?.close();
      segment.handle = undefined;
    }
    this.#lock.release();
  }
}
