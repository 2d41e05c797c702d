// Settling a delivery with a listener instead of a promise: what run(), ackMany and batches use,
// so a handler's outcome costs no promise, closure or async frame per message. A delivery of
// another backend (NATS) settles through its own promise, heard the same way.
import { LeasedDelivery, thrownError, type Delivery, type SettleListener } from './delivery.ts';

export type { SettleListener } from './delivery.ts';

/**
 * Acks `d` (no `failure`) or nacks it with `failure.error`; `listener` hears the answer. Returns why
 * it cannot be settled now (already settled, consumer closed), and then `listener` hears nothing.
 */
export function settleTo(d: Delivery, listener: SettleListener, failure?: { readonly error: unknown }): unknown {
  if (d instanceof LeasedDelivery) return d.settleTo(listener, failure);
  let sent: Promise<void>;
  try {
    sent = failure ? d.nack({ error: thrownError(failure.error) }) : d.ack();
  } catch (error) {
    return error;
  }
  sent.then(
    () => listener.applied(d),
    (error: unknown) => listener.refused(d, error),
  );
  return undefined;
}
