// The bytes every workload publishes: a sequence number (bytes 0-3) and, for latency, the time
// the message was due (bytes 8-15, hrtime ns); the rest a fixed non-zero pattern. Readable by
// any system's consumer, so correctness (each message once) is checked the same way everywhere.

/** Smallest payload that holds the sequence number and the time stamp. */
export const MIN_PAYLOAD_BYTES = 16;

/** A template payload of `bytes` bytes; copy it per message with `stamp`. */
export function template(bytes: number): Buffer {
  if (bytes < MIN_PAYLOAD_BYTES) throw new Error(`payload must be at least ${MIN_PAYLOAD_BYTES} bytes, got ${bytes}`);
  const v = Buffer.alloc(bytes);
  for (let i = MIN_PAYLOAD_BYTES; i < bytes; i++) v[i] = (i * 2654435761) >>> 24;
  return v;
}

/** A copy of `base` carrying `seq` and `dueNs`. */
export function stamp(base: Buffer, seq: number, dueNs = 0n): Buffer {
  const v = Buffer.from(base);
  v.writeUInt32LE(seq, 0);
  v.writeBigUInt64LE(dueNs, 8);
  return v;
}

/** The sequence number of a received payload. */
export function seqOf(value: Uint8Array): number {
  return (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0;
}

/** The due time stamped in a received payload (hrtime ns). */
export function dueOf(value: Uint8Array): bigint {
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(8, true);
}
