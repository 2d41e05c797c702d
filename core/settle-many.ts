// Settling or extending many deliveries with one promise (`consumer.ackMany`, `consumer.extendMany`):
// one listener for all the acks, the items of a turn sent as one command per partition (the settle
// queue batches them). Runs on the caller's thread.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { extendMsError, type Delivery, type SettleListener } from './delivery.ts';
import { PartlyExtendedError, PartlySettledError, type SettleFailure } from './errors.ts';
import { settleTo } from './settle-listener.ts';

/** Most deliveries one ackMany or extendMany takes (a consumer holds at most maxInFlight, up to 1,000,000). */
const MAX_DELIVERIES = 1_000_000;

/** Why `deliveries` cannot be taken by `what` (nothing is then done), or undefined. */
function refuseDeliveries(what: 'ackMany' | 'extendMany', deliveries: readonly Delivery[], isOurs: (d: Delivery) => boolean): InvalidArgumentError | undefined {
  const nothing = what === 'ackMany' ? 'nothing was acked' : 'nothing was extended';
  if (!Array.isArray(deliveries) || deliveries.length > MAX_DELIVERIES) {
    return new InvalidArgumentError(`${what} takes an array of at most ${MAX_DELIVERIES} deliveries (got ${showValue(deliveries)}); ${nothing}`);
  }
  for (const d of deliveries) {
    if (typeof d !== 'object' || d === null || typeof (d as Delivery).ack !== 'function' || !isOurs(d)) {
      const which = typeof d === 'object' && d !== null && typeof (d as Delivery).ack === 'function' ? `a delivery of another consumer: ${d.topic}[${d.partition}]@${d.offset}` : showValue(d);
      return new InvalidArgumentError(`${what} takes deliveries of this consumer (got ${which} in the array); ${nothing}`);
    }
  }
  return undefined;
}

/**
 * Acks every delivery of `deliveries`; resolves once all are durable. If some fail, rejects (once
 * every answer is in) with PARTLY_SETTLED listing them; the others stay acked.
 */
export function ackMany(deliveries: readonly Delivery[], isOurs: (d: Delivery) => boolean = () => true): Promise<void> {
  const refused = refuseDeliveries('ackMany', deliveries, isOurs);
  if (refused) return Promise.reject(refused);
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

/**
 * Extends the lease of every delivery of `deliveries` to end `ms` (default: its topic's
 * `ackTimeoutMs`) from now; resolves once all are extended. The extends are given in one turn, so
 * each partition's go out as one command. If some fail, rejects (once every answer is in) with
 * PARTLY_EXTENDED listing them; the others stay extended. `refuse` may turn down a delivery before
 * anything is sent (a backend's own limit): then nothing is extended.
 */
export function extendMany(deliveries: readonly Delivery[], ms: number | undefined, isOurs: (d: Delivery) => boolean, refuse?: (d: Delivery, ms: number | undefined) => Error | undefined): Promise<void> {
  const refused = refuseDeliveries('extendMany', deliveries, isOurs) ?? extendMsError('extendMany', ms);
  if (refused) return Promise.reject(refused);
  if (refuse) {
    for (const d of deliveries) {
      const error = refuse(d, ms);
      if (error) return Promise.reject(error);
    }
  }
  if (deliveries.length === 0) return Promise.resolve();
  return Promise.allSettled(deliveries.map((d) => d.extend(ms))).then((results) => {
    const failures: SettleFailure[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') failures.push({ delivery: deliveries[i]!, error: r.reason });
    });
    if (failures.length > 0) throw new PartlyExtendedError(failures, deliveries.length);
  });
}
