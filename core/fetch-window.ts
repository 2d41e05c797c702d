// When a consumer may fetch: the window (maxInFlight) counts what is buffered, held by handlers or
// asked for; acks and nacks free their slots when given, and those still waiting for the disk are
// bounded apart, by count and by bytes, since each keeps its message (and its fetch's buffer).

/**
 * The default window (`maxInFlight`), on every backend. At 64 the plain loop paid for a fetch of
 * four messages and an fdatasync for every six (W2, 4 partitions: 58k-61k msg/s, 20 µs per
 * message); at 256, 80k-132k msg/s and 10-11 µs. A larger window only hands a message waiting past
 * its lease back uncharged (fetched again), so slow handlers lose nothing but a refetch.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256;

/**
 * Windows of acks and nacks that may wait for the disk before fetching pauses. One window tied the
 * plain loop's rate to the window over an fsync round trip (maxInFlight 64: 31k msg/s at 24 µs
 * per message; four windows: 63k-68k msg/s).
 */
export const SETTLING_WINDOWS = 4;

/** Past one window, the encoded bytes of messages whose acks wait for the disk before fetching pauses. */
export const SETTLING_BYTES = 64 * 1024 * 1024;

/**
 * Room for a fetch: a quarter of the window free (so fetches stay large instead of one message per
 * ack), or any room once the buffer ran dry; never while the acks waiting for the disk fill their
 * windows, or past one window, their bytes. `inFlight`: slots taken (buffered, held by handlers,
 * or reserved by fetches on their way); `settling`: acks and nacks given, not yet answered, and
 * `settlingBytes` their messages' encoded bytes. Positional: this runs once per ack.
 */
export function mayFetch(maxInFlight: number, inFlight: number, buffered: number, settling: number, settlingBytes: number): boolean {
  if (settling >= maxInFlight * SETTLING_WINDOWS) return false;
  if (settling >= maxInFlight && settlingBytes >= SETTLING_BYTES) return false;
  const free = maxInFlight - inFlight;
  return free >= Math.max(1, maxInFlight >> 2) || (free > 0 && buffered === 0);
}
