// Settling many deliveries with one promise (`consumer.ackMany`): one listener for all of them,
// the acks of a turn sent as one command per partition. Runs on the caller's thread.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import type { Delivery, SettleListener } from './delivery.ts';
import { PartlySettledError, type SettleFailure } from './errors.ts';
import { settleTo } from './settle-listener.ts';

/** Most deliveries one ackMany takes (a consumer holds at most maxInFlight, up to 1,000,000). */
const MAX_DELIVERIES = 1_000_000;

/**
 * Acks every delivery of `deliveries`; resolves once all are durable. If some fail, rejects (once
 * every answer is in) with PARTLY_SETTLED listing them; the others stay acked.
 */
export function ackMany(deliveries: readonly Delivery[], isOurs: (d: Delivery) => boolean = () => true): Promise<void> {
  if (!Array.isArray(deliveries) || deliveries.length > MAX_DELIVERIES) {
    return Promise.reject(new InvalidArgumentError(`ackMany takes an array of at most ${MAX_DELIVERIES} deliveries (got ${showValue(deliveries)})`));
  }
  for (const d of deliveries) {
    if (typeof d !== 'object' || d === null || typeof (d as Delivery).ack !== 'function' || !isOurs(d)) {
      const what = typeof d === 'object' && d !== null && typeof (d as Delivery).ack === 'function' ? `a delivery of another consumer: ${d.topic}[${d.partition}]@${d.offset}` : showValue(d);
      return Promise.reject(new InvalidArgumentError(`ackMany takes deliveries of this consumer (got ${what} in the array); nothing was acked`));
    }
  }
  if (deliveries.length === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let left = deliveries.length;
    const failures: SettleFailure[] = [];
    const answered = (): void => {
      if (--left > 0) return;
      if (failures.length === 0) resolve();
      else reject(new PartlySettledError(failures, deliveries.length));
    };
    const listener: SettleListener = {
      applied: answered,
      refused: (delivery, error) => {
        failures.push({ delivery, error });
        answered();
      },
    };
    for (const d of deliveries) {
      const refusal = settleTo(d, listener);
      if (refusal !== undefined) listener.refused(d, refusal);
    }
  });
}
