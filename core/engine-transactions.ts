// The transaction surface of an engine (the caller's thread): a callback transaction that
// commits when its function resolves and aborts when it throws, and half transactions begun by id.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { refuseUnknownOptions } from './option-names.ts';
import type { Transaction } from './transaction.ts';
import type { TransactionManager } from './transactions.ts';

/** See `Ferry.transaction`. */
export async function runTransaction<T>(manager: TransactionManager, fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`ferry.transaction needs a function (tx) => ... (got ${showValue(fn)})`);
  const tx = manager.begin();
  let result: T;
  try {
    result = await fn(tx);
  } catch (error) {
    if (tx.state === 'open') await tx.abort();
    throw error;
  }
  await tx.commit();
  return result;
}

/** See `Ferry.beginTransaction`: checks its options, then begins (a rejection, never a throw). */
export function beginHalfTransaction(manager: TransactionManager, options: { readonly id: string }): Promise<Transaction> {
  try {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`beginTransaction needs { id } (got ${showValue(options)})`);
    refuseUnknownOptions('beginTransaction options', options, ['id']);
    return manager.beginHalf(options.id);
  } catch (error) {
    return Promise.reject(error);
  }
}
