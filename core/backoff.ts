// Delay before the next attempt after `failures` failed ones, per the topic's backoff.
import type { Random } from '../wal/index.ts';
import type { ResolvedBackoff } from './topic-options.ts';

/** Milliseconds to wait before redelivering after `failures` failed attempts. */
export function backoffDelayMs(backoff: ResolvedBackoff, failures: number, random: Random): number {
  if (backoff.kind === 'fixed') return backoff.delayMs;
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.multiplier ** Math.max(0, failures - 1));
  // Jitter spreads retries of a failed batch so they do not all return at once.
  const spread = base * backoff.jitter;
  return Math.max(0, Math.round(base - spread + random.next() * 2 * spread));
}
