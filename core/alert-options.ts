// Options of the engine's alert events (Ferry.open({ alerts })), validated once, defaults filled,
// frozen: how often partitions are polled for events, and the thresholds of the alerts the engine
// derives from the figures (lag, redelivery rate, stalled groups).
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { refuseUnknownOptions } from './option-names.ts';

/** Thresholds and pace of the alert events (`ferry.on`). Every threshold is off unless set, but `stalledAfterMs`. */
export interface AlertOptions {
  /** How often, while any listener is registered, the engine collects events from its partitions. Default 1000 ms. */
  readonly pollMs?: number;
  /** `lagHigh` when a group's unsettled messages on a topic exceed this; `lagRecovered` once back at or below. */
  readonly lagMessages?: number;
  /** `lagHigh` when a group's oldest unsettled message on a topic is older than this; `lagRecovered` once not. */
  readonly lagAgeMs?: number;
  /** `redeliveryStorm` when a group schedules more redeliveries per second than this on a topic (over one poll). */
  readonly redeliveriesPerSecond?: number;
  /** `consumerStalled` when a group has unsettled messages on a topic and settled none for this long. Default 60000 ms. */
  readonly stalledAfterMs?: number;
}

export type ResolvedAlertOptions = Required<AlertOptions>;

const ALERT_OPTIONS = ['pollMs', 'lagMessages', 'lagAgeMs', 'redeliveriesPerSecond', 'stalledAfterMs'];

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || Number.isNaN(value)) throw new InvalidArgumentError(`options.alerts.${name} must be a positive number (got ${showValue(value)})`);
  return value;
}

/** Validates `Ferry.open`'s `alerts` option, with typed errors; fills defaults. */
export function resolveAlertOptions(alerts: unknown = {}): ResolvedAlertOptions {
  if (typeof alerts !== 'object' || alerts === null) throw new InvalidArgumentError(`options.alerts must be an object (got ${showValue(alerts)})`);
  refuseUnknownOptions('options.alerts', alerts as Record<string, unknown>, ALERT_OPTIONS);
  const a = alerts as AlertOptions;
  const pollMs = positive('pollMs', a.pollMs, 1000);
  if (pollMs < 10 || pollMs > 3_600_000) throw new InvalidArgumentError(`options.alerts.pollMs must be from 10 to 3600000 (got ${showValue(pollMs)})`);
  return Object.freeze({
    pollMs,
    lagMessages: positive('lagMessages', a.lagMessages, Number.POSITIVE_INFINITY),
    lagAgeMs: positive('lagAgeMs', a.lagAgeMs, Number.POSITIVE_INFINITY),
    redeliveriesPerSecond: positive('redeliveriesPerSecond', a.redeliveriesPerSecond, Number.POSITIVE_INFINITY),
    stalledAfterMs: positive('stalledAfterMs', a.stalledAfterMs, 60_000),
  });
}
