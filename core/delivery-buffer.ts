// A consumer's buffer of fetched messages not yet handed out, in two lanes: redeliveries (a
// nack's retry, a lease that ran out) go before fresh messages, as the partition itself serves
// them first. Without that, a retry fetched behind a full prefetch waited for the whole buffer
// (1,000 messages at prefetch 1,000) before its handler saw it. Order per key or per partition is
// the partition's to keep: it never has two messages of one key (or partition, under that
// ordering) in flight, so reordering the buffer cannot break it. Ring buffers side by side (a
// message and its fetch): no object per message, no Array#shift on the hot path.
import { BoundedFifo } from '../wal/index.ts';
import type { DeliveredMessage } from './partition-api.ts';

export class DeliveryBuffer<F> {
  readonly #again: BoundedFifo<DeliveredMessage>;
  readonly #againFrom: BoundedFifo<F>;
  readonly #fresh: BoundedFifo<DeliveredMessage>;
  readonly #freshFrom: BoundedFifo<F>;
  /** The fetch of the message `shift()` returned last. */
  from: F | undefined = undefined;

  /** `capacity`: the most messages held, in both lanes together (a consumer's maxInFlight). */
  constructor(capacity: number) {
    this.#again = new BoundedFifo(capacity);
    this.#againFrom = new BoundedFifo(capacity);
    this.#fresh = new BoundedFifo(capacity);
    this.#freshFrom = new BoundedFifo(capacity);
  }

  get size(): number {
    return this.#again.size + this.#fresh.size;
  }

  /** Adds a message of fetch `from`; false when full (the caller never fetches more than its room). */
  push(message: DeliveredMessage, from: F): boolean {
    if (this.size >= this.#fresh.capacity) return false;
    if (message.attempt > 1) {
      this.#again.push(message);
      this.#againFrom.push(from);
    } else {
      this.#fresh.push(message);
      this.#freshFrom.push(from);
    }
    return true;
  }

  /** The next message (a redelivery first), its fetch in `from`; undefined when empty. */
  shift(): DeliveredMessage | undefined {
    if (this.#again.size > 0) {
      this.from = this.#againFrom.shift();
      return this.#again.shift();
    }
    const message = this.#fresh.shift();
    this.from = message && this.#freshFrom.shift();
    return message;
  }
}
