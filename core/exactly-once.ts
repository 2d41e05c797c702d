// One delivery of an `exactlyOnce` consumer (issue 13): the handler runs with a transaction; when
// it resolves, the delivery's ack and everything the handler published commit as one; when it
// throws, nothing is published and the caller nacks the delivery. The transactions of one run()
// that are ready together commit merged (transaction-merge.ts). Runs on the caller's thread.
import type { Delivery } from './delivery.ts';
import type { Transaction } from './transaction.ts';
import { commitTogether } from './transaction-merge.ts';

/** Headers every output of an exactlyOnce handler carries: where its input came from. */
export const SOURCE_HEADERS = { topic: 'ferry-source-topic', partition: 'ferry-source-partition', offset: 'ferry-source-offset' } as const;

/** Merged commits of one run() in flight at once: what becomes ready meanwhile waits and merges. */
const MERGED_IN_FLIGHT = 2;

/** The source headers of `d`'s outputs. */
export function sourceHeaders(d: Delivery): Record<string, string> {
  return { [SOURCE_HEADERS.topic]: d.topic, [SOURCE_HEADERS.partition]: String(d.partition), [SOURCE_HEADERS.offset]: String(d.offset) };
}

/** Runs one delivery's handler in its transaction; resolves undefined once committed, or with the error once aborted. */
export type ExactlyOnceHandling = <V>(d: Delivery<V>, handler: (d: Delivery<V>, tx: Transaction) => Promise<void> | void) => Promise<{ error: unknown } | undefined>;

/**
 * The exactlyOnce handling of one run(): each handler runs in a transaction begun by `begin`,
 * and the transactions ready in one turn (and those that became ready while earlier merged
 * commits were in flight) commit as one (transaction-merge.ts), each still with its own outcome.
 * The queue holds at most one transaction per handler running (each waits for its commit).
 */
export function exactlyOnceHandling(begin: (headers: Record<string, string>) => Transaction): ExactlyOnceHandling {
  const ready: { tx: Transaction; done: (outcome: Promise<void>) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (inFlight >= MERGED_IN_FLIGHT || ready.length === 0) return;
    const batch = ready.splice(0);
    inFlight++;
    const outcomes = commitTogether(batch.map((b) => b.tx));
    batch.forEach((b, i) => b.done(outcomes[i]!));
    void Promise.allSettled(outcomes).then(() => {
      inFlight--;
      schedule();
    });
  };
  const schedule = (): void => {
    if (scheduled || ready.length === 0) return;
    scheduled = true;
    queueMicrotask(flush); // the others ready in this turn join
  };
  const commit = (tx: Transaction): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      ready.push({ tx, done: (outcome) => outcome.then(resolve, reject) });
      schedule();
    });
  return (d, handler) => handleExactlyOnce(d, handler, begin, commit);
}

/**
 * Runs `handler(d, tx)` and commits `tx` with the ack of `d` (through `commit`). Resolves
 * undefined once committed, or with the error (the handler's, or the commit's) once the
 * transaction is aborted: then nothing of it took effect, and `d` is settled only if its lease is gone.
 */
export async function handleExactlyOnce<V>(
  d: Delivery<V>,
  handler: (d: Delivery<V>, tx: Transaction) => Promise<void> | void,
  begin: (headers: Record<string, string>) => Transaction,
  commit: (tx: Transaction) => Promise<void> = (tx) => tx.commit(),
): Promise<{ error: unknown } | undefined> {
  const tx = begin(sourceHeaders(d as Delivery));
  try {
    await handler(d, tx);
    if (tx.state === 'open') {
      void tx.ack(d as Delivery);
      await commit(tx);
    }
    return undefined;
  } catch (error) {
    if (tx.state === 'open') await tx.abort().catch(() => {});
    return { error };
  }
}
