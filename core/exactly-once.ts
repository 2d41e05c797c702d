// One delivery of an `exactlyOnce` consumer (issue 13): the handler runs with a transaction; when
// it resolves, the delivery's ack and everything the handler published commit as one; when it
// throws, nothing is published and the caller nacks the delivery. Runs on the caller's thread.
import type { Delivery } from './delivery.ts';
import type { Transaction } from './transaction.ts';

/** Headers every output of an exactlyOnce handler carries: where its input came from. */
export const SOURCE_HEADERS = { topic: 'ferry-source-topic', partition: 'ferry-source-partition', offset: 'ferry-source-offset' } as const;

/** The source headers of `d`'s outputs. */
export function sourceHeaders(d: Delivery): Record<string, string> {
  return { [SOURCE_HEADERS.topic]: d.topic, [SOURCE_HEADERS.partition]: String(d.partition), [SOURCE_HEADERS.offset]: String(d.offset) };
}

/**
 * Runs `handler(d, tx)` and commits `tx` with the ack of `d`. Resolves undefined once committed,
 * or with the error (the handler's, or the commit's) once the transaction is aborted: then nothing
 * of it took effect, and `d` is settled only if its lease is gone.
 */
export async function handleExactlyOnce<V>(d: Delivery<V>, handler: (d: Delivery<V>, tx: Transaction) => Promise<void> | void, begin: (headers: Record<string, string>) => Transaction): Promise<{ error: unknown } | undefined> {
  const tx = begin(sourceHeaders(d as Delivery));
  try {
    await handler(d, tx);
    if (tx.state === 'open') {
      void tx.ack(d as Delivery);
      await tx.commit();
    }
    return undefined;
  } catch (error) {
    if (tx.state === 'open') await tx.abort().catch(() => {});
    return { error };
  }
}
