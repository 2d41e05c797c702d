// What a topic's options become in its stream's config (created by createTopic, changed by
// alterTopic): retention -> max_age / max_bytes, dedupWindowMs -> duplicate_window. JetStream
// refuses a max_age or duplicate_window under 100 ms, so those are refused here first, by name.
import { UnsupportedFeatureError } from './errors.ts';
import type { ResolvedTopicOptions } from '../../core/index.ts';

const NS_PER_MS = 1_000_000;
/** nats-server's floor for max_age and duplicate_window. */
const JETSTREAM_MIN_WINDOW_MS = 100;
/**
 * The stream's window when the topic's dedupWindowMs is 0: users' ids are then not sent as
 * Nats-Msg-Id at all (no dedupe by id, as on the embedded engine), but the ids Ferry generates for
 * idempotent retries still need a window: JetStream's default of 2 minutes (Ferry's default too).
 */
const RETRY_WINDOW_MS = 120_000;

/** UNSUPPORTED for options JetStream cannot hold (before anything is sent). */
export function checkStreamOptions(topic: string, options: ResolvedTopicOptions): void {
  const tooShort = (ms: number): boolean => ms > 0 && ms < JETSTREAM_MIN_WINDOW_MS;
  if (tooShort(options.retention.ms)) {
    throw new UnsupportedFeatureError('nats', `retention.ms of ${options.retention.ms} (topic ${JSON.stringify(topic)})`, `JetStream keeps a message at least ${JETSTREAM_MIN_WINDOW_MS} ms (its max_age floor): use 0 (no age limit) or ${JETSTREAM_MIN_WINDOW_MS} or more`);
  }
  if (tooShort(options.dedupWindowMs)) {
    throw new UnsupportedFeatureError('nats', `dedupWindowMs of ${options.dedupWindowMs} (topic ${JSON.stringify(topic)})`, `JetStream's duplicate window is at least ${JETSTREAM_MIN_WINDOW_MS} ms: use 0 (no dedupe by message id) or ${JETSTREAM_MIN_WINDOW_MS} or more`);
  }
}

/** The stream config fields that follow the topic's options (the same on create and on alter). */
export function streamLimits(options: ResolvedTopicOptions): { duplicate_window: number; max_age: number; max_bytes: number } {
  const maxAgeMs = options.retention.ms;
  const windowMs = options.dedupWindowMs === 0 ? RETRY_WINDOW_MS : options.dedupWindowMs;
  return {
    // JetStream refuses a duplicate window longer than max_age.
    duplicate_window: (maxAgeMs > 0 ? Math.min(windowMs, maxAgeMs) : windowMs) * NS_PER_MS,
    max_age: maxAgeMs * NS_PER_MS,
    max_bytes: options.retention.bytes > 0 ? options.retention.bytes : -1,
  };
}

/** A group's AckWait (ns) for the topic's ackTimeoutMs. */
export function ackWaitNs(options: ResolvedTopicOptions): number {
  return options.ackTimeoutMs * NS_PER_MS;
}
