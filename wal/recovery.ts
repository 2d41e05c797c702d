// Opening a log directory: find the segments, trust sealed ones whose index file vouches for them,
// verify every batch of the rest, and decide what to do with the first bad batch.
//
//   sealed+indexed ... sealed+indexed | first unvouched segment ... active segment
//   (trusted: synced before sealing)  | (scanned: header, CRC, offset and chain of every batch)
//
// A bad batch is a torn tail (truncate, report) unless something proves it had been synced:
// a later batch stamped with a durable end past it, or a later sealed segment. Then it is
// corruption: refuse to open, or with `repair` truncate there and report what was dropped.
import { join } from 'node:path';
import { CorruptSegmentError } from './errors.ts';
import { mapIoError } from './io-errors.ts';
import type { ResolvedLogOptions } from './options.ts';
import type { FileHandle } from './seams/file-system.ts';
import { Segment } from './segment.ts';
import { indexPath, indexTempNames, indexTempPath, segmentBases, segmentPath } from './segment-files.ts';
import { findIntactBatches, scanSegment, type ScanProblem } from './segment-scan.ts';
import { SparseIndex } from './sparse-index.ts';
import { endOfData } from './zero-tail.ts';

/** What opening the log found and did. */
export interface RecoveryReport {
  /** Segments in the log after recovery. */
  readonly segments: number;
  /** Segments whose every batch was verified at open. */
  readonly scannedSegments: number;
  /** Sparse index files written again because they were missing, damaged or stale. */
  readonly rebuiltIndexes: number;
  /** Set when recovery cut the log short. */
  readonly truncated?: TruncationReport;
}

/** Where and why the log was cut, and what was dropped. */
export interface TruncationReport {
  /** `torn-tail`: unsynced writes lost in a crash. `repair`: corruption cut away on request. */
  readonly kind: 'torn-tail' | 'repair';
  readonly segment: string;
  readonly position: number;
  readonly reason: string;
  /** Offset at which the log now ends. */
  readonly atOffset: number;
  readonly droppedBytes: number;
  /** Batches after the cut that were intact (CRC-valid) and were dropped all the same. */
  readonly intactBatchesDropped: number;
  readonly removedSegments: readonly string[];
}

export interface RecoveredLog {
  readonly segments: Segment[];
  readonly report: RecoveryReport;
}

interface Candidate {
  readonly base: number;
  readonly path: string;
  readonly indexPath: string;
}

function loadVouchedSegment(options: ResolvedLogOptions, c: Candidate): Segment | undefined {
  const { fs } = options;
  if (!fs.exists(c.indexPath) || !fs.exists(c.path)) return undefined;
  let segmentSize: number;
  let bytes: Uint8Array;
  const segmentHandle = fs.open(c.path, 'read');
  try {
    segmentSize = segmentHandle.size();
  } finally {
    segmentHandle.close();
  }
  const indexHandle = fs.open(c.indexPath, 'read');
  try {
    bytes = new Uint8Array(indexHandle.size());
    indexHandle.read(bytes, 0, bytes.length, 0);
  } finally {
    indexHandle.close();
  }
  const decoded = SparseIndex.decode(bytes, c.base, options.indexIntervalBytes);
  if (!decoded || decoded.facts.sizeBytes !== segmentSize) return undefined;
  const segment = new Segment({ baseOffset: c.base, path: c.path, indexPath: c.indexPath, index: decoded.index, ...decoded.facts });
  segment.sealed = true;
  return segment;
}

/**
 * Writes a sealed segment's index file durably and whole: into a temp file, synced, renamed into
 * place, then the directory synced (else a power loss can drop the new entry, and the segment is
 * rescanned). A rename replaces the file whole, so a power loss mid-save leaves the old index or
 * the new one, never a torn one. A failure only costs a rescan at the next open.
 */
export async function saveIndex(options: ResolvedLogOptions, segment: Segment): Promise<void> {
  const { fs } = options;
  const temp = indexTempPath(segment.indexPath);
  try {
    const bytes = segment.index.encode(segment);
    const handle = fs.open(temp, 'create');
    try {
      handle.truncate(0);
      let written = 0;
      while (written < bytes.length) {
        const n = handle.writev([bytes.subarray(written)], written);
        if (n <= 0) throw new Error('index write made no progress');
        written += n;
      }
      await handle.sync();
    } finally {
      handle.close();
    }
    // Retention may have deleted the segment meanwhile: no index for a file that is gone.
    if (!fs.exists(segment.path)) throw new Error('segment deleted while its index was saved');
    fs.rename(temp, segment.indexPath);
    await fs.syncDir(options.dir);
  } catch {
    try {
      if (fs.exists(temp)) fs.remove(temp);
    } catch {
      // removed at the next open
    }
  }
}

/** Removes index temp files a crash left mid-save (recovery syncs the directory at its end). */
function removeIndexTemps(options: ResolvedLogOptions, names: readonly string[]): void {
  for (const name of indexTempNames(names)) options.fs.remove(join(options.dir, name));
}

interface BadBatch {
  readonly index: number;
  readonly handle: FileHandle;
  readonly sizeBytes: number;
  readonly problem: ScanProblem;
  /** Offset the bad batch should have started at. */
  readonly atOffset: number;
  /** The segment's own file is misnamed (not where the previous one ended): drop it whole. */
  readonly dropWhole: boolean;
}

/** Does anything after the bad batch prove the bad batch had been synced? */
function provenSynced(options: ResolvedLogOptions, candidates: Candidate[], bad: BadBatch): { proven: boolean; intact: number } {
  // A misnamed segment is dropped whole, so its own first batch is evidence too.
  let intact = findIntactBatches(bad.handle, bad.sizeBytes, bad.dropWhole ? 0 : bad.problem.position + 1, bad.atOffset);
  let proven = intact.some((h) => h.durableEnd > bad.atOffset) || (bad.dropWhole && loadVouchedSegment(options, candidates[bad.index]!) !== undefined);
  let count = intact.length;
  for (const c of candidates.slice(bad.index + 1)) {
    if (loadVouchedSegment(options, c)) proven = true; // sealed after a sync that covered all before it
    const handle = options.fs.open(c.path, 'read');
    try {
      intact = findIntactBatches(handle, handle.size(), 0, bad.atOffset);
    } finally {
      handle.close();
    }
    count += intact.length;
    if (intact.some((h) => h.durableEnd > bad.atOffset)) proven = true;
  }
  return { proven, intact: count };
}

/**
 * Makes bytes [from, to) of a file durable even if the page cache holds them as clean although
 * they never reached the disk (after a failed fsync, Linux marks the pages clean): they are read
 * and written back, then synced. Recovery calls it for what no durable-end stamp proves synced.
 */
async function rewriteAndSync(handle: FileHandle, from: number, to: number): Promise<void> {
  const chunk = new Uint8Array(Math.min(1024 * 1024, Math.max(0, to - from)));
  for (let at = from; at < to; ) {
    const n = handle.read(chunk, 0, Math.min(chunk.length, to - at), at);
    if (n <= 0) break;
    for (let done = 0; done < n; ) {
      const w = handle.writev([chunk.subarray(done, n)], at + done);
      if (w <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      done += w;
    }
    at += n;
  }
  await handle.sync();
}

async function cutAt(options: ResolvedLogOptions, candidates: Candidate[], bad: BadBatch, kind: TruncationReport['kind'], intact: number): Promise<TruncationReport> {
  const { fs, dir } = options;
  // The zeros the log wrote ahead were never data: they are not counted as dropped.
  let droppedBytes = endOfData(bad.handle, bad.problem.position, bad.sizeBytes) - bad.problem.position;
  const removed: string[] = [];
  const doomed = candidates.slice(bad.dropWhole ? bad.index : bad.index + 1);
  for (const c of doomed) {
    if (c !== candidates[bad.index]) {
      const h = fs.open(c.path, 'read');
      droppedBytes += h.size();
      h.close();
    }
    fs.remove(c.path);
    fs.remove(c.indexPath);
    removed.push(c.path);
  }
  if (!bad.dropWhole) {
    bad.handle.truncate(bad.problem.position);
    await bad.handle.sync();
  }
  await fs.syncDir(dir);
  return {
    kind,
    segment: candidates[bad.index]!.path,
    position: bad.problem.position,
    reason: bad.problem.reason,
    atOffset: bad.atOffset,
    droppedBytes,
    intactBatchesDropped: intact,
    removedSegments: removed,
  };
}

async function createFirstSegment(options: ResolvedLogOptions, base: number): Promise<Segment> {
  const path = segmentPath(options.dir, base);
  const handle = options.fs.open(path, 'create');
  await options.fs.syncDir(options.dir);
  return new Segment({ baseOffset: base, path, indexPath: indexPath(options.dir, base), index: new SparseIndex(base, options.indexIntervalBytes), sizeBytes: 0, endOffset: base, lastCrc: 0, maxTimestamp: 0, handle });
}

/** Opens (and if needed repairs) the segments of the log in `options.dir`. */
export async function recoverLog(options: ResolvedLogOptions): Promise<RecoveredLog> {
  try {
    return await recover(options);
  } catch (error) {
    throw mapIoError(error, 'recovery', options.dir);
  }
}

async function recover(options: ResolvedLogOptions): Promise<RecoveredLog> {
  const { fs, dir } = options;
  const names = fs.list(dir);
  removeIndexTemps(options, names);
  const candidates: Candidate[] = segmentBases(names).map((base) => ({ base, path: segmentPath(dir, base), indexPath: indexPath(dir, base) }));
  if (candidates.length === 0) {
    const first = await createFirstSegment(options, options.initialOffset);
    return { segments: [first], report: { segments: 1, scannedSegments: 0, rebuiltIndexes: 0 } };
  }

  const segments: Segment[] = [];
  // Sealed segments vouched for by their index file (not in repair mode: it verifies everything).
  while (!options.repair && segments.length < candidates.length - 1) {
    const c = candidates[segments.length]!;
    const previous = segments[segments.length - 1];
    const vouched = loadVouchedSegment(options, c);
    if (!vouched || (previous && previous.endOffset !== c.base)) break;
    segments.push(vouched);
  }

  const vouched = segments.length;
  let truncated: TruncationReport | undefined;
  let proven = vouched > 0 ? segments[vouched - 1]!.endOffset : 0;
  for (let i = segments.length; i < candidates.length; i++) {
    const c = candidates[i]!;
    const previous = segments[segments.length - 1];
    const expectedBase = previous ? previous.endOffset : c.base;
    const handle = fs.open(c.path, 'readwrite');
    const sizeBytes = handle.size();
    const scan = scanSegment(handle, sizeBytes, { baseOffset: c.base, previousCrc: previous?.lastCrc, indexIntervalBytes: options.indexIntervalBytes });
    proven = Math.max(proven, scan.maxDurableEnd);
    const misnamed = c.base !== expectedBase;
    if (misnamed || scan.problem) {
      const bad: BadBatch = {
        index: i,
        handle,
        sizeBytes,
        problem: misnamed ? { position: 0, reason: `segment starts at offset ${c.base}, but the log before it ends at ${expectedBase}` } : scan.problem!,
        atOffset: misnamed ? expectedBase : scan.endOffset,
        dropWhole: misnamed,
      };
      const { proven: damagedSynced, intact } = provenSynced(options, candidates, bad);
      if (damagedSynced && !options.repair) {
        handle.close();
        for (const s of segments) s.handle?.close();
        throw new CorruptSegmentError(c.path, bad.problem.position, bad.problem.reason, { details: { intactBatchesAfter: intact } });
      }
      truncated = await cutAt(options, candidates, bad, damagedSynced ? 'repair' : 'torn-tail', intact);
      if (misnamed) {
        handle.close();
        break;
      }
    }
    const fileBytes = truncated ? scan.validBytes : sizeBytes; // the active segment keeps its zero tail
    segments.push(new Segment({ baseOffset: c.base, path: c.path, indexPath: c.indexPath, index: scan.index, sizeBytes: scan.validBytes, fileBytes, endOffset: scan.endOffset, lastCrc: scan.lastCrc, maxTimestamp: scan.maxTimestamp, handle }));
    if (truncated) break;
  }

  // What was scanned may sit in the page cache only (a process crash, or a failed fsync that left
  // pages marked clean): make it durable before anything is confirmed on top of it, and before an
  // index file vouches for a sealed segment.
  const scanned = segments.slice(vouched);
  for (const segment of scanned) {
    if (segment.endOffset > proven) await rewriteAndSync(segment.handle!, proven <= segment.baseOffset ? 0 : segment.index.floor(proven).position, segment.sizeBytes);
  }
  let rebuilt = 0;
  for (const segment of scanned.slice(0, -1)) {
    if (segment.fileBytes > segment.sizeBytes) {
      // Zeros left by a crash between a roll and the truncate that seals it: finish the seal, as
      // its index file will vouch for the size.
      segment.handle!.truncate(segment.sizeBytes);
      segment.fileBytes = segment.sizeBytes;
      await segment.handle!.sync();
    }
    segment.sealed = true;
    await saveIndex(options, segment);
    rebuilt++;
    segment.handle!.close();
    segment.handle = undefined;
  }

  if (segments.length === 0) segments.push(await createFirstSegment(options, candidates[0]!.base));
  const active = segments[segments.length - 1]!;
  active.sealed = false;
  if (!active.handle) active.handle = fs.open(active.path, 'readwrite');
  fs.remove(active.indexPath); // the active segment's index lives in memory; a file there is stale
  await fs.syncDir(dir); // entries created before a crash may not be durable yet
  return { segments, report: { segments: segments.length, scannedSegments: scanned.length, rebuiltIndexes: rebuilt, ...(truncated ? { truncated } : {}) } };
}
