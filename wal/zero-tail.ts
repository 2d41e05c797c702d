// The zero-filled tail of a segment file. The log writes zeros ahead of its append position (and
// a sync makes them durable) so that a later fdatasync of appended data does not change the file's
// size: ext4 then has no size to commit through its journal, and the sync costs about a third less
// (issue 11). Recovery reads such a tail as the clean end of the log. Runs on the log's thread.
import { readFully } from './chunk-reader.ts';
import type { FileHandle } from './seams/file-system.ts';

/** Bytes read at a time while checking that a tail is all zeros. */
const CHECK_CHUNK_BYTES = 64 * 1024;
/** Largest zero write in one call (one shared buffer of zeros, never written to). */
const ZERO_WRITE_BYTES = 1024 * 1024;
let zeros: Uint8Array | undefined;

/**
 * True when bytes [from, to) of the file are all zero: the space the log had filled with zeros
 * and not yet used. A batch header never starts with zeros (its magic word is not zero), so zeros
 * where a batch should start are no batch; only if the whole rest is zero is it a clean end.
 */
export function isZeroTail(handle: FileHandle, from: number, to: number): boolean {
  if (from >= to) return false;
  const buffer = new Uint8Array(Math.min(CHECK_CHUNK_BYTES, to - from));
  for (let at = from; at < to; ) {
    const want = Math.min(buffer.length, to - at);
    const got = readFully(handle, buffer, want, at);
    for (let i = 0; i < got; i++) if (buffer[i] !== 0) return false;
    if (got < want) return true; // the file is shorter than asked: what there was is zero
    at += got;
  }
  return true;
}

/** The position just past the last non-zero byte in [from, to) (`from` when all are zero). Error path only. */
export function endOfData(handle: FileHandle, from: number, to: number): number {
  const buffer = new Uint8Array(CHECK_CHUNK_BYTES);
  for (let end = to; end > from; ) {
    const start = Math.max(from, end - buffer.length);
    const got = readFully(handle, buffer, end - start, start);
    for (let i = got - 1; i >= 0; i--) if (buffer[i] !== 0) return start + i + 1;
    end = start;
  }
  return from;
}

/**
 * Writes zeros at [from, to), finishing short writes. Returns the bytes written and, if a write
 * failed part-way (a full disk), its error: zeros beyond the data are harmless, so the caller
 * only notes how far the file now reaches.
 */
export function writeZeros(handle: FileHandle, from: number, to: number): { written: number; error?: unknown } {
  zeros ??= new Uint8Array(ZERO_WRITE_BYTES);
  let at = from;
  try {
    while (at < to) {
      const n = handle.writev([zeros.subarray(0, Math.min(zeros.length, to - at))], at);
      if (n <= 0) return { written: at - from, error: new Error('zero fill made no progress') };
      at += n;
    }
  } catch (error) {
    return { written: at - from, error };
  }
  return { written: at - from };
}
