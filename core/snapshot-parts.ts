// A snapshot of state too large for one log batch (a partition checkpoint, the catalog), written
// as PART records completed by a final record, and found again on replay. Runs on the thread
// that owns the log.
//
//   PART{v,i:0,n} PART{v,i:1,n} … PART{v,i:n-1,n} FINAL{v,n}    appended in one turn: nothing
//   comes between them. Replay uses the latest FINAL and the n records just before it; parts a
//   crash left without their FINAL are never used, so a snapshot is used whole or not at all.
import { InvalidArgumentError, type AppendInput, type BatchHeader, type ReadBatch, type WriteAheadLog, showValue } from '../wal/index.ts';
import { decodeControl, encodeControl } from './codec.ts';
import { CorruptStateError, UnknownFormatVersionError } from './state-errors.ts';

/** The record types and format version of one kind of snapshot. */
export interface SnapshotKind {
  /** What it is, for error messages: 'checkpoint', 'catalog snapshot'. */
  readonly what: string;
  readonly partType: number;
  readonly finalType: number;
  /** The format version written, and the only one read (besides `legacy`). */
  readonly version: number;
  /** Reads a FINAL record without a version: the body inline, as written before versions existed. */
  readonly legacy?: (payload: Uint8Array) => unknown;
}

/** Encoded state per PART record: far below any engine log's maxBatchBytes (16 MiB at least). */
export const SNAPSHOT_PART_BYTES = 1024 * 1024;

/** Throws INVALID_ARGUMENT unless `bytes` is a usable part size: 64 B to 8 MiB (half the smallest engine batch limit). */
export function checkPartBytes(bytes: unknown): void {
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 64 || (bytes as number) > 8 * 1024 * 1024) {
    throw new InvalidArgumentError(`limits.checkpointPartBytes must be a whole number of bytes from 64 to 8 MiB (got ${showValue(bytes)})`);
  }
}

/** Bytes of records written at once (the log's framing buffer is kept up to 4 MiB). */
const WRITE_BYTES = 4 * 1024 * 1024;

interface PartRecord { readonly v: number; readonly i: number; readonly n: number; readonly b: Uint8Array }
interface FinalRecord { readonly v: number; readonly n: number }

/**
 * What reading snapshots and records needs of a log: an open WriteAheadLog, or a read-only view
 * (`ferry verify`), which may lack `walk` (then every payload is read).
 */
export type ReadableLog = Pick<WriteAheadLog, 'dir' | 'startOffset' | 'nextOffset' | 'segments' | 'read'> & Partial<Pick<WriteAheadLog, 'walk'>>;

/** A batch's header fields, and its payload where the walk was asked for it. */
export type WalkedBatch = Omit<ReadBatch, 'payload'> & { readonly flags: number; readonly payload: Uint8Array | undefined };

/** Where a snapshot lies (its first PART at `at`, its FINAL just before `end`) and its encoded size. */
export interface SnapshotSpan { readonly at: number; readonly end: number; readonly bytes: number }

/** Calls `visit` for each batch in [from, to). */
export function forEachBatch(log: ReadableLog, from: number, to: number, visit: (b: ReadBatch) => void): void {
  for (let offset = from; offset < to; ) {
    const batches = log.read(offset, { maxBytes: 1024 * 1024, upToOffset: to });
    if (batches.length === 0) break;
    for (const b of batches) {
      visit(b);
      offset = b.baseOffset + b.recordCount;
    }
  }
}

/**
 * Calls `visit` for each batch in [from, to), with its payload only where `want` asks for it:
 * replay reads headers, not the whole log (WriteAheadLog.walk).
 */
export function forEachHeader(log: ReadableLog, from: number, to: number, want: (header: BatchHeader) => boolean, visit: (b: WalkedBatch) => void): void {
  if (from >= to) return;
  // A literal of fixed shape, not a spread of the header: replay walks a batch header per ACK
  // record, and the spread was an eighth of reopening a consumed log (a new-user trial, issue 11).
  if (log.walk) {
    return log.walk(from, to, want, (h, payload) =>
      visit({ baseOffset: h.baseOffset, recordCount: h.recordCount, type: h.type, producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, timestamp: h.timestamp, flags: h.flags, payload }),
    );
  }
  forEachBatch(log, from, to, (b) => visit({ flags: 0, ...b }));
}

/**
 * Appends `body` as a snapshot of `kind` and resolves with where it lies once all of it is
 * durable; rejects with the log's reason if any record could not be written or synced (the parts
 * already written are then never used).
 */
export async function writeSnapshot(log: WriteAheadLog, kind: SnapshotKind, body: unknown, timestamp: number, partBytes = SNAPSHOT_PART_BYTES): Promise<SnapshotSpan> {
  checkPartBytes(partBytes);
  const bytes = encodeControl(body);
  const n = Math.max(1, Math.ceil(bytes.length / partBytes));
  const at = log.nextOffset;
  const records: AppendInput[] = [];
  for (let i = 0; i < n; i++) records.push({ type: kind.partType, recordCount: 1, payload: encodeControl({ v: kind.version, i, n, b: bytes.subarray(i * partBytes, (i + 1) * partBytes) } satisfies PartRecord), timestamp });
  records.push({ type: kind.finalType, recordCount: 1, payload: encodeControl({ v: kind.version, n } satisfies FinalRecord), timestamp });
  const durable: Promise<unknown>[] = [];
  for (let i = 0; i < records.length; ) {
    // A few records per write, so that a small snapshot is one write (and one sync under fsync
    // 'always') and a large one never needs a write buffer of its whole size.
    let end = i + 1;
    for (let size = records[i]!.payload.length; end < records.length && size + records[end]!.payload.length <= WRITE_BYTES; end++) size += records[end]!.payload.length;
    const before = log.nextOffset;
    const appended = log.appendMany(records.slice(i, end));
    if (log.nextOffset === before) {
      void Promise.allSettled(durable); // the parts written are left unused; their outcome does not matter
      await appended; // rejects with why nothing was written
      throw new Error('unreachable: an append that wrote nothing resolved');
    }
    durable.push(appended);
    i = end;
  }
  await Promise.all(durable);
  return { at, end: at + n + 1, bytes: bytes.length };
}

/** The latest batch of `type`, looking in the newest segments first, through their headers only. */
function latestOfType(log: ReadableLog, type: number): ReadBatch | undefined {
  const segments = log.segments();
  for (let i = segments.length - 1; i >= 0; i--) {
    let found: number | undefined;
    forEachHeader(log, Math.max(segments[i]!.baseOffset, log.startOffset), segments[i]!.endOffset, () => false, (b) => {
      if (b.type === type) found = b.baseOffset;
    });
    if (found !== undefined) return batchesOf(log, found, found + 1)[0];
  }
  return undefined;
}

/** The batches in [from, to), with their payloads: for the few records a snapshot is made of. */
function batchesOf(log: ReadableLog, from: number, to: number): ReadBatch[] {
  const out: ReadBatch[] = [];
  forEachHeader(log, from, to, () => true, ({ flags: _, payload, ...b }) => out.push({ ...b, payload: payload! }));
  return out;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function decodeAt<T>(kind: SnapshotKind, log: ReadableLog, offset: number, bytes: Uint8Array): T {
  try {
    return decodeControl<T>(bytes);
  } catch (error) {
    throw new CorruptStateError(kind.what, log.dir, offset, `undecodable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The latest complete snapshot of `kind` in the log, decoded, with where it lies; undefined if
 * there is none. Throws UnknownFormatVersionError for a version this code does not read, and
 * CorruptStateError for parts that are missing or do not belong together.
 */
export function latestSnapshot<T>(log: ReadableLog, kind: SnapshotKind): (SnapshotSpan & { readonly body: T; readonly timestamp: number }) | undefined {
  const final = latestOfType(log, kind.finalType);
  if (!final) return undefined;
  const offset = final.baseOffset;
  const head = decodeAt<Partial<FinalRecord> | null>(kind, log, offset, final.payload);
  if (kind.legacy && (typeof head !== 'object' || head === null || head.v === undefined)) return { at: offset, end: offset + 1, bytes: final.payload.length, timestamp: final.timestamp, body: kind.legacy(final.payload) as T };
  const version = typeof head === 'object' && head !== null ? head.v : undefined;
  if (version !== kind.version) throw new UnknownFormatVersionError(kind.what, log.dir, offset, version, kind.version);
  const n = head!.n;
  if (!Number.isSafeInteger(n) || n! < 1 || offset - n! < log.startOffset) throw new CorruptStateError(kind.what, log.dir, offset, `it names ${String(n)} parts, which are not all in the log`);
  const at = offset - n!;
  const chunks: Uint8Array[] = [];
  for (const b of batchesOf(log, at, offset)) {
    const part = b.type === kind.partType ? decodeAt<Partial<PartRecord> | null>(kind, log, b.baseOffset, b.payload) : null;
    if (part?.v !== kind.version || part.i !== chunks.length || part.n !== n || b.baseOffset !== at + chunks.length || !(part.b instanceof Uint8Array)) {
      throw new CorruptStateError(kind.what, log.dir, b.baseOffset, `record ${b.baseOffset} is not part ${chunks.length} of ${String(n)}`);
    }
    chunks.push(part.b);
  }
  if (chunks.length !== n) throw new CorruptStateError(kind.what, log.dir, offset, `found ${chunks.length} of its ${String(n)} parts`);
  const bytes = concat(chunks);
  return { at, end: offset + 1, bytes: bytes.length, timestamp: final.timestamp, body: decodeAt<T>(kind, log, at, bytes) };
}
