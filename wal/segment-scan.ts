// Walks a segment batch by batch, checking every header, CRC, offset and chain link. Used by
// recovery (to find the valid prefix and rebuild the index) and nowhere on the hot path.
import { BATCH_MAGIC, HEADER_BYTES, checkHeader, crcMatches, decodeHeader, type BatchHeader } from './batch-format.ts';
import { ChunkReader } from './chunk-reader.ts';
import type { FileHandle } from './seams/file-system.ts';
import { SparseIndex } from './sparse-index.ts';
import { isZeroTail } from './zero-tail.ts';

/** The first thing wrong in a segment. */
export interface ScanProblem {
  readonly position: number;
  readonly reason: string;
}

export interface ScanResult {
  /** Byte position just past the last valid batch. */
  readonly validBytes: number;
  readonly endOffset: number;
  readonly lastCrc: number;
  readonly maxTimestamp: number;
  readonly batches: number;
  readonly index: SparseIndex;
  readonly problem: ScanProblem | undefined;
  /** Largest durable-end stamp among the valid batches: everything below it had been synced. */
  readonly maxDurableEnd: number;
}

export interface ScanStart {
  readonly baseOffset: number;
  /** CRC the first batch must chain to; undefined accepts any (the log's first surviving segment). */
  readonly previousCrc: number | undefined;
  readonly indexIntervalBytes: number;
}

/** Checks one batch at `position`; returns its header or why it is bad. */
export function checkBatch(reader: ChunkReader, position: number, expectedOffset: number, previousCrc: number | undefined): BatchHeader | string {
  const head = reader.window(position, HEADER_BYTES);
  if (!head) return 'truncated header';
  const structural = checkHeader(head.bytes, head.at, HEADER_BYTES);
  if (structural) return structural;
  const header = decodeHeader(head.bytes, head.at);
  const whole = reader.window(position, header.length);
  if (!whole) return 'truncated batch';
  if (!crcMatches(whole.bytes, whole.at, header)) return 'crc mismatch';
  if (header.recordCount < 1) return 'empty batch';
  if (header.baseOffset !== expectedOffset) return `offset ${header.baseOffset} where ${expectedOffset} was expected`;
  if (previousCrc !== undefined && header.previousCrc !== previousCrc) return 'broken checksum chain';
  return header;
}

/**
 * Scans a segment of `sizeBytes` from its start until the end or the first bad batch. Zeros from
 * where a batch should start to the end of the file are the clean end (zero-tail.ts); zeros with
 * anything else after them are a problem like any other damage.
 */
export function scanSegment(handle: FileHandle, sizeBytes: number, start: ScanStart): ScanResult {
  const reader = new ChunkReader(handle, sizeBytes);
  const index = new SparseIndex(start.baseOffset, start.indexIntervalBytes);
  let position = 0;
  let offset = start.baseOffset;
  let previousCrc = start.previousCrc;
  let maxTimestamp = 0;
  let batches = 0;
  let maxDurableEnd = 0;
  let problem: ScanProblem | undefined;
  while (position < sizeBytes) {
    const result = checkBatch(reader, position, offset, previousCrc);
    if (typeof result === 'string') {
      problem = { position, reason: result };
      break;
    }
    index.observe(offset, position);
    position += result.length;
    offset += result.recordCount;
    previousCrc = result.crc;
    maxTimestamp = Math.max(maxTimestamp, result.timestamp);
    maxDurableEnd = Math.max(maxDurableEnd, result.durableEnd);
    batches++;
  }
  if (problem && isZeroTail(handle, position, sizeBytes)) problem = undefined;
  return { validBytes: position, endOffset: offset, lastCrc: previousCrc ?? 0, maxTimestamp, batches, index, problem, maxDurableEnd };
}

/**
 * CRC-valid batches in [from, sizeBytes) that could belong to the log after offset `atOffset`,
 * found by searching for the magic word. The span of each one found is skipped, so a frame
 * embedded in a payload is not taken for a batch; a candidate must also be plausible (its offset
 * past the damage, its durable-end stamp not past its own offset). Error path only: it reads the
 * rest of the segment at once.
 */
export function findIntactBatches(handle: FileHandle, sizeBytes: number, from: number, atOffset: number): BatchHeader[] {
  if (from >= sizeBytes) return [];
  const reader = new ChunkReader(handle, sizeBytes);
  const all = reader.window(from, sizeBytes - from);
  if (!all) return [];
  const magic = new Uint8Array(4);
  new DataView(magic.buffer).setUint32(0, BATCH_MAGIC, true);
  const found: BatchHeader[] = [];
  const end = all.at + (sizeBytes - from);
  const bytes = Buffer.from(all.bytes.buffer, all.bytes.byteOffset, end);
  for (let i = bytes.indexOf(magic, all.at); i >= 0; ) {
    let next = i + 1;
    if (!checkHeader(bytes, i, end - i)) {
      const header = decodeHeader(bytes, i);
      if (i + header.length <= end && crcMatches(bytes, i, header) && header.baseOffset >= atOffset && header.durableEnd <= header.baseOffset) {
        found.push(header);
        next = i + header.length;
      }
    }
    i = next < end ? bytes.indexOf(magic, next) : -1;
  }
  return found;
}
