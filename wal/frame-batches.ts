// Framing batches for one write: small ones are copied, header and payload together, into a
// reused buffer (one CRC pass each, and consecutive ones become a single iovec); large ones get a
// header there and keep their payload as an iovec of its own, uncopied.
import { HEADER_BYTES, batchCrc, sealFrame, writeHeaderFields } from './batch-format.ts';

/** A batch to append. The payload is stored as given; the log never looks inside it. */
export interface AppendInput {
  /** Record type, 0-255; the log does not interpret it. Default 0. */
  readonly type?: number;
  /** 16 bits stored in the batch header for the caller (0 to 65535); the log does not interpret them. Default 0. */
  readonly flags?: number;
  /** Offsets the batch occupies (at least 1). */
  readonly recordCount: number;
  readonly payload: Uint8Array;
  /** Idempotent producer fields, stored for the caller's dedupe. Defaults 0, 0, -1. */
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  /** Milliseconds since the epoch, from the caller's clock. */
  readonly timestamp: number;
}

/** Batches up to this size are copied into the frame buffer (cheaper than a second iovec and CRC call). */
export const SMALL_FRAME_BYTES = 16 * 1024;

/** Bytes of frame buffer that `frameBatches` needs for `inputs`. */
export function framingBytes(inputs: readonly AppendInput[]): number {
  let need = 0;
  for (const input of inputs) need += HEADER_BYTES + input.payload.length <= SMALL_FRAME_BYTES ? HEADER_BYTES + input.payload.length : HEADER_BYTES;
  return need;
}

/**
 * Frames `inputs` as the batches starting at `baseOffset`, chained from `previousCrc`, stamped
 * with `durableEnd`, in `frame` (at least `framingBytes(inputs)` long). Returns the iovecs to
 * write, in order, and the CRC of the last batch.
 */
export function frameBatches(frame: Uint8Array, inputs: readonly AppendInput[], baseOffset: number, previousCrc: number, durableEnd: number): { buffers: Uint8Array[]; lastCrc: number } {
  const buffers: Uint8Array[] = [];
  let at = 0;
  let runStart = 0;
  let offset = baseOffset;
  let crc = previousCrc;
  for (const input of inputs) {
    const length = HEADER_BYTES + input.payload.length;
    const view = new DataView(frame.buffer, frame.byteOffset + at, HEADER_BYTES);
    const fields = { type: input.type ?? 0, flags: input.flags ?? 0, recordCount: input.recordCount, producerId: input.producerId ?? 0, producerEpoch: input.producerEpoch ?? 0, baseSequence: input.baseSequence ?? -1, timestamp: input.timestamp };
    writeHeaderFields(view, fields, input.payload.length, offset, crc, durableEnd);
    if (length <= SMALL_FRAME_BYTES) {
      frame.set(input.payload, at + HEADER_BYTES);
      crc = sealFrame(frame.subarray(at, at + length), view, length);
      at += length;
    } else {
      crc = batchCrc(frame.subarray(at, at + HEADER_BYTES), input.payload);
      view.setUint32(4, crc, true);
      at += HEADER_BYTES;
      buffers.push(frame.subarray(runStart, at), input.payload);
      runStart = at;
    }
    offset += input.recordCount;
  }
  if (at > runStart) buffers.push(frame.subarray(runStart, at));
  return { buffers, lastCrc: crc };
}
