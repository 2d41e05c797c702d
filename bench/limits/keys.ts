// Names of the physical limits measured in each run (bench/limits/*), shared by the limit cells
// that measure them and the scenario cells whose figures they bound.

/** A raw loop of positioned writes of `batch` records of `bytes` each, with fdatasync after each write when `sync`. */
export function diskKey(batch: number, bytes: number, sync: boolean): string {
  return `disk ${sync ? 'write+fdatasync' : 'write'} ${batch}x${bytes}B`;
}

/** The median latency of one small positioned write + fdatasync. */
export const FDATASYNC_LATENCY = 'fdatasync latency';

/** msgpack (msgpackr) encoding of messages with `bytes`-byte values, one core. */
export function encodeKey(bytes: number): string {
  return `msgpack encode ${bytes}B`;
}

/** msgpack (msgpackr) decoding of messages with `bytes`-byte values, one core. */
export function decodeKey(bytes: number): string {
  return `msgpack decode ${bytes}B`;
}

/** worker_threads: batches of encoded messages of `bytes` each transferred to a worker and acknowledged. */
export function transferKey(bytes: number): string {
  return `worker_threads transfer ${bytes}B`;
}
