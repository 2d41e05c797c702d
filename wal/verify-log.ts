// An offline, read-only check of one log directory (the `ferry verify` command): every segment's
// batches are checked as recovery checks them (header, CRC, offsets, the checksum chain across
// segments), and each valid batch is handed to a visitor that decodes its records. Unlike
// recovery it cuts, rebuilds and writes nothing, and it goes on to the next segment after damage.
import { HEADER_BYTES } from './batch-format.ts';
import { ChunkReader } from './chunk-reader.ts';
import type { ReadBatch } from './segment.ts';
import { segmentBases, segmentName, segmentPath } from './segment-files.ts';
import { isZeroTail } from './zero-tail.ts';
import { checkBatch, findIntactBatches } from './segment-scan.ts';
import type { FileSystem } from './seams/file-system.ts';

/** Something wrong in a log. */
export interface LogProblem {
  readonly file: string;
  /** Byte position in the file. */
  readonly position: number;
  /** The offset the bad batch should have held. */
  readonly offset: number;
  readonly reason: string;
  /**
   * 'torn-tail': the last segment ends in an incomplete or bad write with nothing valid after it,
   * as a crash leaves it (the next open cuts it; only unconfirmed data is lost). 'corrupt':
   * damage inside a sealed segment, valid batches after the damage, a gap between segments, or a
   * record that does not decode: confirmed data is at stake.
   */
  readonly kind: 'torn-tail' | 'corrupt';
}

/** What one log holds and what is wrong with it. */
export interface LogCheck {
  readonly dir: string;
  readonly segments: number;
  readonly bytes: number;
  readonly batches: number;
  readonly startOffset: number;
  /** The offset after the last valid batch of the last segment. */
  readonly endOffset: number;
  readonly problems: readonly LogProblem[];
}

/**
 * Checks each valid batch's records; returns why one does not decode, or undefined. The batch's
 * payload is a view valid only during the call.
 */
export type BatchVisitor = (batch: ReadBatch) => string | undefined;

/** Checks every segment of the log in `dir`, reading only. `progress` is told the bytes read so far, per segment. */
export function verifyLog(fs: FileSystem, dir: string, visit?: BatchVisitor, progress?: (bytes: number) => void): LogCheck {
  const bases = segmentBases(fs.list(dir));
  const problems: LogProblem[] = [];
  let bytes = 0;
  let batches = 0;
  let previousCrc: number | undefined;
  let expected: number | undefined;
  let end = 0;
  for (const [i, base] of bases.entries()) {
    const file = segmentName(base);
    const last = i === bases.length - 1;
    if (expected !== undefined && base !== expected) {
      problems.push({ file, position: 0, offset: expected, reason: `the segment starts at offset ${base} where ${expected} was expected (records are missing)`, kind: 'corrupt' });
      previousCrc = undefined; // the chain cannot link across a gap
    }
    const handle = fs.open(segmentPath(dir, base), 'read');
    try {
      const size = handle.size();
      const reader = new ChunkReader(handle, size);
      let position = 0;
      let offset = base;
      let damaged = false;
      while (position < size) {
        const header = checkBatch(reader, position, offset, previousCrc);
        if (typeof header === 'string') {
          if (isZeroTail(handle, position, size)) break; // the zeros the log writes ahead: its clean end
          // Damage with valid batches after it is not a torn write: something changed synced data.
          const torn = last && findIntactBatches(handle, size, position + 1, offset).length === 0;
          problems.push({ file, position, offset, reason: header, kind: torn ? 'torn-tail' : 'corrupt' });
          damaged = true;
          break;
        }
        const whole = reader.window(position, header.length)!;
        const payload = whole.bytes.subarray(whole.at + HEADER_BYTES, whole.at + header.length);
        const undecodable = visit?.({ baseOffset: header.baseOffset, recordCount: header.recordCount, type: header.type, producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence, timestamp: header.timestamp, payload });
        if (undecodable !== undefined) problems.push({ file, position, offset, reason: `batch of type ${header.type}: ${undecodable}`, kind: 'corrupt' });
        position += header.length;
        offset += header.recordCount;
        previousCrc = header.crc;
        batches++;
      }
      bytes += size;
      // After damage, where the segment really ended is unknown: the next one is checked on its own.
      expected = damaged ? undefined : offset;
      end = offset;
      if (damaged) previousCrc = undefined;
      progress?.(bytes);
    } finally {
      handle.close();
    }
  }
  return { dir, segments: bases.length, bytes, batches, startOffset: bases[0] ?? 0, endOffset: end, problems };
}
