// The async iterator of a consumer, shared by every backend: `for await` takes deliveries until
// the consumer ends, and leaving the loop (break, return, throw) closes the consumer, as streams do.
import type { Delivery } from './delivery.ts';

/** What the iterator takes deliveries from. */
export interface DeliverySource<V> {
  next(): Promise<Delivery<V> | undefined>;
  /** A delivery ready now, without waiting (undefined: ask next()). Spares a promise per message. */
  takeNow?(): Delivery<V> | undefined;
  close(): Promise<void>;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

function toResult<V>(d: Delivery<V> | undefined): IteratorResult<Delivery<V>> {
  return d ? { value: d, done: false } : DONE;
}

/** An iterator over `source.next()` whose `return` closes `source`. */
export function deliveryIterator<V>(source: DeliverySource<V>): AsyncIterator<Delivery<V>> {
  return {
    next: () => {
      const ready = source.takeNow?.();
      return ready ? Promise.resolve({ value: ready, done: false }) : source.next().then(toResult);
    },
    return: async () => {
      await source.close();
      return DONE;
    },
  };
}
