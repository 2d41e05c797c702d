// The async iterator of a consumer, shared by every backend: `for await` takes deliveries until
// the consumer ends, and leaving the loop (break, return, throw) closes the consumer, as streams do.
import type { Delivery } from './delivery.ts';

/** An iterator over `source.next()` whose `return` closes `source`. */
export function deliveryIterator<V>(source: { next(): Promise<Delivery<V> | undefined>; close(): Promise<void> }): AsyncIterator<Delivery<V>> {
  return {
    next: async () => {
      const d = await source.next();
      return d ? { value: d, done: false } : { value: undefined, done: true };
    },
    return: async () => {
      await source.close();
      return { value: undefined, done: true };
    },
  };
}
