// The `run()` executor: `concurrency` workers take deliveries from a consumer and settle each with
// the handler's outcome (resolve = ack, throw = nack). A settle that fails for a retriable reason
// is tried again while the lease lasts; a fatal failure stops the consumer, lets the other
// handlers finish, then rejects. Runs on the caller's thread.
import { FerryError, InvalidArgumentError, showValue } from '../wal/index.ts';
import type { Delivery, LeasedDelivery } from './delivery.ts';
import { AlreadyRunningError, leaseIsGone } from './errors.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { exactlyOnceHandling } from './exactly-once.ts';
import type { Transaction } from './transaction.ts';

/** Options of `consumer.run()`. */
export interface RunOptions {
  /** Handlers running at once. Default 1. */
  readonly concurrency?: number;
  /**
   * Run each handler in a transaction, its second argument (issue 13): what it publishes through
   * `tx` and the ack of its delivery commit as one when it resolves; when it throws, nothing is
   * published and the delivery is nacked. Outputs carry their source in headers. Default false.
   */
  readonly exactlyOnce?: boolean;
}

/** What run() needs from its consumer. */
export interface RunSource<V> {
  /** The consumer itself: one run() at a time on it. */
  readonly consumer: { readonly group: string };
  next(): Promise<Delivery<V> | undefined>;
  /** A delivery ready now, without waiting (undefined: ask next()). */
  takeNow?(): Delivery<V> | undefined;
  /** Stops the consumer (a fatal failure: the other handlers finish, nothing new starts). */
  stop(): void;
  /** Waits `ms` on the consumer's clock, or less if it closes. */
  sleep(ms: number): Promise<void>;
  /** Monotonic time, as delivery deadlines are. */
  now(): number;
  /** A handler's outcome could not be applied: its lease was gone (it ran longer than the lease). */
  lost(error: unknown, delivery: Delivery<V>): void;
  /** A transaction whose outputs carry `headers` (exactlyOnce); absent where the engine has none. */
  transaction?(headers: Record<string, string>): Transaction;
}

/** Consumers with a run() not yet resolved: a second one would share the consumer's slots unseen. */
const running = new WeakSet<object>();

/** Runs `handler` over `source` until it ends; see the top of the file. */
export async function runHandlers<V>(source: RunSource<V>, handler: (delivery: Delivery<V>, tx: Transaction) => Promise<void> | void, options: RunOptions = {}): Promise<void> {
  refuseUnknownOptions('run options', options, ['concurrency', 'exactlyOnce']);
  const begin = options.exactlyOnce === true ? source.transaction : undefined;
  if (options.exactlyOnce !== undefined && typeof options.exactlyOnce !== 'boolean') throw new InvalidArgumentError(`run exactlyOnce must be true or false (got ${showValue(options.exactlyOnce)})`);
  if (options.exactlyOnce === true && !begin) throw new InvalidArgumentError('run exactlyOnce needs a consumer from ferry.consumer()');
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 10_000) throw new InvalidArgumentError(`run concurrency must be a whole number from 1 to 10000 (got ${showValue(concurrency)})`);
  if (typeof handler !== 'function') throw new InvalidArgumentError(`run needs a handler function (got ${showValue(handler)})`);
  if (running.has(source.consumer)) throw new AlreadyRunningError(source.consumer.group);
  running.add(source.consumer);
  try {
    await runWorkers(source, handler, concurrency, begin);
  } finally {
    running.delete(source.consumer);
  }
}

async function runWorkers<V>(source: RunSource<V>, handler: (delivery: Delivery<V>, tx: Transaction) => Promise<void> | void, concurrency: number, begin: RunSource<V>['transaction']): Promise<void> {
  let fatal: { error: unknown } | undefined;
  // Outcomes being applied. A worker does not wait for its ack to be durable before it takes the
  // next delivery (that would hold each handler to one message per fsync); every one of them
  // holds a consumer slot until applied, so there are at most maxInFlight.
  const settling = new Set<Promise<void>>();
  const exactlyOnce = begin && exactlyOnceHandling(begin); // the run's transactions, their commits merged
  const applyOutcome = (d: LeasedDelivery<V>, outcome: { error: unknown } | undefined): void => {
    const done: Promise<void> = settle(source, d, outcome).then(
      () => void settling.delete(done),
      (error: unknown) => {
        settling.delete(done);
        fatal ??= { error };
        source.stop();
      },
    );
    settling.add(done);
  };
  const worker = async (): Promise<void> => {
    try {
      for (let d = source.takeNow?.() ?? (await source.next()); d; d = source.takeNow?.() ?? (await source.next())) {
        let outcome: { error: unknown } | undefined;
        if (exactlyOnce) outcome = await exactlyOnce(d, handler);
        else {
          try {
            await handler(d, undefined as unknown as Transaction); // no transaction without exactlyOnce
          } catch (error) {
            outcome = { error };
          }
        }
        if ((d as LeasedDelivery<V>).settled) continue; // the handler settled it itself
        applyOutcome(d as LeasedDelivery<V>, outcome);
      }
    } catch (error) {
      fatal ??= { error };
      source.stop();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  while (settling.size > 0) await Promise.all(settling);
  if (fatal) throw fatal.error;
}

/** Acks or nacks `d`, retrying retriable failures (a full disk, a timeout) while its lease lasts. */
async function settle<V>(source: RunSource<V>, d: LeasedDelivery<V>, outcome: { error: unknown } | undefined): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      return await (outcome ? d.nack({ error: outcome.error }) : d.ack());
    } catch (error) {
      // A lost lease or a closed consumer: the message comes back to some consumer. Said through
      // onFault: a handler that outlives its lease otherwise sees its work redone in silence.
      if (leaseIsGone(error)) return source.lost(error, d);
      if (!(error instanceof FerryError && error.retriable)) throw error;
      if (source.now() >= d.deadline) return; // the lease ran out meanwhile: it comes back
      await source.sleep(Math.min(1000, 10 * 2 ** tries));
    }
  }
}
