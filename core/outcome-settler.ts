// How run() and runBatches() apply handlers' outcomes: resolve = ack, throw = nack with the error.
// No promise, closure or async frame per message (the answers come to a listener); a settle that
// fails for a retriable reason (a full disk, a timeout) is tried again while the lease lasts, a
// lost lease is reported, anything else is fatal to the run. Counts what is in flight, so the run
// can wait for every outcome to be applied. Runs on the caller's thread.
import { FerryError } from '../wal/index.ts';
import type { Delivery, SettleListener } from './delivery.ts';
import { leaseIsGone } from './errors.ts';
import { settleTo } from './settle-listener.ts';

/** What the settler needs from its run. */
export interface OutcomeHost<V> {
  /** Waits `ms` on the consumer's clock, or less if it closes. */
  sleep(ms: number): Promise<void>;
  /** Monotonic time, as delivery deadlines are. */
  now(): number;
  /** The outcome could not be applied: the lease was gone (the handler ran longer than the lease). */
  lost(error: FerryError, delivery: Delivery<V>): void;
  /** A failure that is not retriable: the run stops. */
  fatal(error: unknown): void;
}

type Failure = { readonly error: unknown } | undefined;

/** A delivery's deadline (LeasedDelivery and the NATS delivery both keep one). */
function deadlineOf(d: Delivery): number {
  return (d as { deadline?: number }).deadline ?? Number.POSITIVE_INFINITY;
}

export class OutcomeSettler<V> {
  readonly #host: OutcomeHost<V>;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  /** The listener of every first-try ack: shared, so an ack allocates nothing here. */
  readonly #acks: SettleListener;

  constructor(host: OutcomeHost<V>) {
    this.#host = host;
    this.#acks = this.#listener(undefined, 0);
  }

  /** Outcomes sent and not yet answered (each holds a consumer slot until applied). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Acks `d` (no failure) or nacks it with the handler's error. */
  apply(d: Delivery<V>, failure: Failure): void {
    this.#send(d, failure, failure ? this.#listener(failure, 0) : this.#acks);
  }

  /** Resolves once every outcome sent has been answered (and its retries are over). */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #send(d: Delivery<V>, failure: Failure, listener: SettleListener): void {
    this.#inFlight++;
    const refusal = settleTo(d, listener, failure);
    if (refusal !== undefined) listener.refused(d, refusal);
  }

  #listener(failure: Failure, tries: number): SettleListener {
    return {
      applied: () => this.#done(),
      refused: (d, error) => this.#failed(d as Delivery<V>, error, failure, tries),
    };
  }

  #failed(d: Delivery<V>, error: unknown, failure: Failure, tries: number): void {
    // A lost lease or a closed consumer: the message comes back to some consumer. Said through
    // onFault: a handler that outlives its lease otherwise sees its work redone in silence.
    if (leaseIsGone(error)) this.#host.lost(error as FerryError, d); // leaseIsGone: a FerryError
    else if (!(error instanceof FerryError && error.retriable)) this.#host.fatal(error);
    else if (this.#host.now() < deadlineOf(d)) {
      // Retriable, and the lease lasts: try again after a backoff (the slot stays counted).
      void this.#host.sleep(Math.min(1000, 10 * 2 ** tries)).then(() => {
        if (this.#host.now() >= deadlineOf(d)) return this.#done(); // it ran out while we waited
        this.#inFlight--;
        this.#send(d, failure, this.#listener(failure, tries + 1));
      });
      return;
    } // else the lease ran out meanwhile: it comes back
    this.#done();
  }

  #done(): void {
    if (--this.#inFlight === 0 && this.#idle) {
      const wake = this.#idle;
      this.#idle = undefined;
      wake();
    }
  }
}
