// Buffered reads over a segment file: one read syscall per chunk instead of two per batch.
import type { FileHandle } from './seams/file-system.ts';

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** A window onto bytes [start, start + length) of a file. */
export interface ByteWindow {
  readonly bytes: Uint8Array;
  /** Index in `bytes` of the first requested byte. */
  readonly at: number;
}

/** Reads a file through a window of about a chunk, handing out views into it. */
export class ChunkReader {
  readonly #handle: FileHandle;
  readonly #limit: number;
  readonly #chunkBytes: number;
  #buffer: Uint8Array;
  #bufferStart = 0;
  #bufferLength = 0;

  /** Reads never go past `limit` bytes (the segment's logical size). */
  constructor(handle: FileHandle, limit: number, chunkBytes = DEFAULT_CHUNK_BYTES) {
    this.#handle = handle;
    this.#limit = limit;
    this.#chunkBytes = chunkBytes;
    this.#buffer = new Uint8Array(0);
  }

  /** Bytes available from `position` to the limit. */
  remaining(position: number): number {
    return Math.max(0, this.#limit - position);
  }

  /** The bytes [position, position + length), or undefined if the file ends first. */
  window(position: number, length: number): ByteWindow | undefined {
    if (position + length > this.#limit) return undefined;
    if (position >= this.#bufferStart && position + length <= this.#bufferStart + this.#bufferLength) {
      return { bytes: this.#buffer, at: position - this.#bufferStart };
    }
    const want = Math.min(Math.max(length, this.#chunkBytes), this.#limit - position);
    // A fresh buffer each refill: windows handed out earlier must stay valid for their holders.
    this.#buffer = new Uint8Array(want);
    const got = readFully(this.#handle, this.#buffer, want, position);
    this.#bufferStart = position;
    this.#bufferLength = got;
    return got >= length ? { bytes: this.#buffer, at: 0 } : undefined;
  }
}

/** Reads `want` bytes at `position` into the start of `buffer`, less only at the end of the file; returns how many. */
export function readFully(handle: FileHandle, buffer: Uint8Array, want: number, position: number): number {
  let got = 0;
  while (got < want) {
    const n = handle.read(buffer, got, want - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
