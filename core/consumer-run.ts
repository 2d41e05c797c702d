// The `run()` and `runBatches()` executors: `concurrency` workers take deliveries from a consumer
// and settle each with the handler's outcome (resolve = ack, throw = nack), through an
// OutcomeSettler (a retriable failure is tried again while the lease lasts). A fatal failure
// stops the consumer, lets the other handlers finish, then rejects. Runs on the caller's thread.
import { InvalidArgumentError, showValue, type FerryError } from '../wal/index.ts';
import type { Delivery, LeasedDelivery } from './delivery.ts';
import { AlreadyRunningError, HandlerThrewError, leaseIsGone } from './errors.ts';
import { OutcomeSettler } from './outcome-settler.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { exactlyOnceHandling } from './exactly-once.ts';
import type { Transaction } from './transaction.ts';

/**
 * A `run()` handler without `exactlyOnce`: there is no transaction, so its second argument is
 * `undefined` (declared so that a handler written for `exactlyOnce` does not compile here).
 */
export type RunHandler<V> = (delivery: Delivery<V>, tx?: undefined) => Promise<void> | void;

/** A `run(handler, { exactlyOnce: true })` handler: `tx` is the delivery's transaction (issue 13). */
export type ExactlyOnceHandler<V> = (delivery: Delivery<V>, tx: Transaction) => Promise<void> | void;

/** Either kind of `run()` handler: what a run() takes before its options are read. */
export type AnyRunHandler<V> = RunHandler<V> | ExactlyOnceHandler<V>;

/** A `runBatches()` handler. */
export type BatchHandler<V> = (batch: Delivery<V>[]) => Promise<void> | void;

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
  /**
   * A fault about `delivery` (reported through onFault): `settle`, a handler's outcome could not
   * be applied because its lease was gone (it ran longer than the lease); `handler`, a handler
   * threw after it settled its delivery (every delivery of its batch) itself.
   */
  fault(error: FerryError, delivery: Delivery<V>, during: 'settle' | 'handler'): void;
  /** A transaction whose outputs carry `headers` (exactlyOnce); absent where the engine has none. */
  transaction?(headers: Record<string, string>): Transaction;
}

/** Options of `consumer.runBatches()`. */
export interface RunBatchesOptions {
  /** Most deliveries per handler call, 1 to 10,000. Default 100. A batch holds what is ready now (at least one). */
  readonly maxBatchSize?: number;
  /** Batches handled at once. Default 1. */
  readonly concurrency?: number;
}

/** Consumers with a run() not yet resolved: a second one would share the consumer's slots unseen. */
const running = new WeakSet<object>();

/** What run() calls, whichever options it had: `tx` is a transaction exactly when exactlyOnce is true. */
type Handler<V> = (delivery: Delivery<V>, tx: Transaction | undefined) => Promise<void> | void;
type Failure = { readonly error: unknown } | undefined;

/** Options must be a plain object (null and arrays were read as none: a new-user trial). */
function checkOptions(what: string, options: unknown, known: readonly string[]): void {
  if (options === null || Array.isArray(options)) throw new InvalidArgumentError(`${what} must be an object such as { concurrency: 4 } (got ${showValue(options)})`);
  refuseUnknownOptions(what, options as object, known);
}

function checkConcurrency(what: string, concurrency: unknown): number {
  if (!Number.isSafeInteger(concurrency) || (concurrency as number) < 1 || (concurrency as number) > 10_000) throw new InvalidArgumentError(`${what} concurrency must be a whole number from 1 to 10000 (got ${showValue(concurrency)})`);
  return concurrency as number;
}

/** Runs `handler` over `source` until it ends; see the top of the file. */
export async function runHandlers<V>(source: RunSource<V>, anyHandler: AnyRunHandler<V>, options: RunOptions = {}): Promise<void> {
  checkOptions('run options', options, ['concurrency', 'exactlyOnce']);
  const begin = options.exactlyOnce === true ? source.transaction : undefined;
  if (options.exactlyOnce !== undefined && typeof options.exactlyOnce !== 'boolean') throw new InvalidArgumentError(`run exactlyOnce must be true or false (got ${showValue(options.exactlyOnce)})`);
  if (options.exactlyOnce === true && !begin) throw new InvalidArgumentError('run exactlyOnce needs a consumer from ferry.consumer()');
  const concurrency = checkConcurrency('run', options.concurrency ?? 1);
  if (typeof anyHandler !== 'function') throw new InvalidArgumentError(`run needs a handler function (got ${showValue(anyHandler)})`);
  const handler = anyHandler as Handler<V>; // called with a transaction exactly when exactlyOnce (checked above)
  const exactlyOnce = begin && exactlyOnceHandling(begin); // the run's transactions, their commits merged
  await runWorkers(source, concurrency, async (first, settler) => {
    for (let d: Delivery<V> | undefined = first; d; d = source.takeNow?.() ?? (await source.next())) {
      let failure = exactlyOnce ? await exactlyOnce(d, handler as ExactlyOnceHandler<V>) : handle(handler, d);
      if (failure instanceof Promise) failure = await failure;
      if (!(d as LeasedDelivery<V>).settled) settler.apply(d, failure); // unless the handler settled it itself
      else if (failure) unheard(source, 'run', [d], failure.error);
    }
  });
}

/**
 * Runs `handler` on batches of deliveries (what is ready now, 1 to `maxBatchSize`) until the
 * consumer ends: resolving acks every delivery of the batch the handler did not settle itself,
 * throwing nacks each of them with the error.
 */
export async function runBatchHandlers<V>(source: RunSource<V>, handler: BatchHandler<V>, options: RunBatchesOptions = {}): Promise<void> {
  checkOptions('runBatches options', options, ['concurrency', 'maxBatchSize']);
  const concurrency = checkConcurrency('runBatches', options.concurrency ?? 1);
  const maxBatchSize = options.maxBatchSize ?? 100;
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 10_000) throw new InvalidArgumentError(`runBatches maxBatchSize must be a whole number from 1 to 10000 (got ${showValue(options.maxBatchSize)})`);
  if (typeof handler !== 'function') throw new InvalidArgumentError(`runBatches needs a handler function (got ${showValue(handler)})`);
  await runWorkers(source, concurrency, async (first, settler) => {
    for (let d: Delivery<V> | undefined = first; d; d = source.takeNow?.() ?? (await source.next())) {
      const batch = [d];
      for (let more = source.takeNow?.(); more; more = batch.length < maxBatchSize ? source.takeNow?.() : undefined) batch.push(more);
      // The handler gets its own copy: one that empties or splices it (a chunking loop) must not
      // leave deliveries unsettled here (a new-user trial saw a whole batch dead-lettered).
      let failure = handle(handler, batch.slice());
      if (failure instanceof Promise) failure = await failure;
      let nacked = false;
      for (const each of batch) {
        if ((each as LeasedDelivery<V>).settled) continue;
        settler.apply(each, failure);
        nacked = true;
      }
      if (failure && !nacked) unheard(source, 'runBatches', batch, failure.error);
    }
  });
}

/**
 * A handler threw, but every delivery it had was settled already (by the handler itself, or, in an
 * exactlyOnce run, by a commit whose lease was gone): the error cannot be a nack, so it is reported
 * as a fault, never dropped (a new-user trial lost a batch handler's error in silence).
 */
function unheard<V>(source: RunSource<V>, run: 'run' | 'runBatches', deliveries: readonly Delivery<V>[], error: unknown): void {
  const first = deliveries[0]!;
  if (leaseIsGone(error)) source.fault(error as FerryError, first, 'settle'); // the lease went while it ran: the message comes back
  else source.fault(new HandlerThrewError(run, first, deliveries.length, error), first, 'handler');
}

const succeeded = (): Failure => undefined;
const threw = (error: unknown): Failure => ({ error });

/**
 * Calls the handler; a failure is what it threw. A handler that returns no promise is answered
 * at once (no turn, no promise per message); an async one as a promise of its failure.
 */
function handle<A>(handler: (arg: A, tx?: undefined) => Promise<void> | void, arg: A): Failure | Promise<Failure> {
  try {
    const result = handler(arg, undefined); // no transaction without exactlyOnce
    if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') return Promise.resolve(result).then(succeeded, threw);
    return undefined;
  } catch (error) {
    return { error };
  }
}

/**
 * `concurrency` workers each loop over the source from its first delivery on (`work`), their
 * outcomes applied by one settler. A worker does not wait for its ack to be durable before it
 * takes the next delivery (that would hold each handler to one message per fsync); every outcome
 * holds a consumer slot until applied, so there are at most maxInFlight. A fatal failure stops
 * the consumer, lets the other workers finish, then rejects.
 */
async function runWorkers<V>(source: RunSource<V>, concurrency: number, work: (first: Delivery<V>, settler: OutcomeSettler<V>) => Promise<void>): Promise<void> {
  if (running.has(source.consumer)) throw new AlreadyRunningError(source.consumer.group);
  running.add(source.consumer);
  try {
    let fatal: { error: unknown } | undefined;
    const fail = (error: unknown): void => {
      fatal ??= { error };
      source.stop();
    };
    const settler = new OutcomeSettler<V>({ sleep: (ms) => source.sleep(ms), now: () => source.now(), lost: (error, d) => source.fault(error, d, 'settle'), fatal: fail });
    const worker = async (): Promise<void> => {
      try {
        const first = source.takeNow?.() ?? (await source.next());
        if (first) await work(first, settler);
      } catch (error) {
        fail(error);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await settler.idle();
    if (fatal) throw fatal.error;
  } finally {
    running.delete(source.consumer);
  }
}
