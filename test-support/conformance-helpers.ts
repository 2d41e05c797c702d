// Helpers of the conformance suite (test-support/conformance-suite.ts and its parts): fresh names,
// waits on the real clock, and taking deliveries within a deadline.
import type { Delivery } from '../index.ts';
import type { ConsumerApi } from './conformance-suite.ts';

let counter = 0;
export const fresh = (what: string): string => `${what}-${process.pid}-${++counter}`;
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A next() that outlived its wait: the delivery it brings belongs to the consumer's next wait. */
const pendingNext = new WeakMap<object, Promise<Delivery<never> | undefined>>();

/** The next delivery within `ms`, or undefined. */
export async function nextWithin<V>(consumer: ConsumerApi<V>, ms: number): Promise<Delivery<V> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<'none'>((resolve) => (timer = setTimeout(() => resolve('none'), ms)));
  const next = (pendingNext.get(consumer) as Promise<Delivery<V> | undefined> | undefined) ?? consumer.next();
  try {
    const got = await Promise.race([next, none]);
    if (got !== 'none') {
      pendingNext.delete(consumer);
      return got;
    }
    pendingNext.set(consumer, next as Promise<Delivery<never> | undefined>);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Takes `count` deliveries, acking each; fails if they do not come within `ms`. */
export async function takeAll<V>(consumer: ConsumerApi<V>, count: number, ms = 15_000): Promise<Delivery<V>[]> {
  const out: Delivery<V>[] = [];
  const until = Date.now() + ms;
  while (out.length < count) {
    const d = await nextWithin(consumer, Math.max(1, until - Date.now()));
    if (!d) throw new Error(`got ${out.length} of ${count} deliveries within ${ms} ms`);
    await d.ack();
    out.push(d);
  }
  return out;
}
