// The pacer of the fixed-rate workload (W3): calls `send` for each message at the time it is due.
// A 1 ms interval timer added 0.6-0.8 ms of its own lag at the median to every system's latency
// (counted from the due time, coordinated omission corrected); this loop re-checks hrtime on every
// turn of the event loop (setImmediate, so I/O callbacks still run between checks), and sleeps on
// a timer only while the next message is more than SLEEP_BEYOND_MS away.
import { hrtime } from 'node:process';

/** Beyond this gap to the next due time the pacer sleeps on a timer (woken a millisecond early). */
const SLEEP_BEYOND_MS = 3;

/**
 * Calls `send(seq, dueNs)` for messages 0..total-1, message `seq` due at `start + seq / rate`
 * seconds (hrtime ns); resolves once every one was sent. A message the loop reaches late is sent
 * at once, with its original due time (the caller counts latency from it).
 */
export function paced(start: bigint, total: number, rate: number, send: (seq: number, dueNs: bigint) => void): Promise<void> {
  const dueOf = (seq: number): bigint => start + BigInt(Math.round((seq / rate) * 1e9));
  return new Promise<void>((resolve) => {
    let sent = 0;
    const turn = (): void => {
      const now = hrtime.bigint();
      for (let due = dueOf(sent); sent < total && due <= now; due = dueOf(sent)) send(sent++, due);
      if (sent >= total) return resolve();
      const gapMs = Number(dueOf(sent) - hrtime.bigint()) / 1e6;
      if (gapMs > SLEEP_BEYOND_MS) setTimeout(turn, gapMs - 1);
      else setImmediate(turn);
    };
    turn();
  });
}
