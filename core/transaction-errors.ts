// Typed errors of transactions (issue 13). Each has a stable code, registered so it crosses threads.
import { FerryError, registerErrorCode, type FerryErrorOptions } from '../wal/index.ts';

/** A transaction holds more messages or bytes than `limits.maxTransactionMessages` / `maxTransactionBytes`. */
export class TransactionTooLargeError extends FerryError {
  static readonly code = 'TRANSACTION_TOO_LARGE';
  constructor(what: 'messages' | 'bytes', limit: number) {
    super(TransactionTooLargeError.code, `a transaction may hold at most ${limit} ${what} (limits.maxTransaction${what === 'messages' ? 'Messages' : 'Bytes'}); split the work into several transactions`, false, { details: { what, limit } });
  }
}

/** More transactions are open than `limits.maxOpenTransactions` allows; retry once some finish. */
export class TooManyTransactionsError extends FerryError {
  static readonly code = 'TOO_MANY_TRANSACTIONS';
  constructor(limit: number, where = 'this engine') {
    super(TooManyTransactionsError.code, `${where} already has ${limit} open transactions (limits.maxOpenTransactions); commit or abort some, then retry`, true, { details: { limit, where } });
  }
}

/** The transaction was aborted (by abort(), its timeout, a failed step, or a newer instance of its id); nothing of it took effect. */
export class TransactionAbortedError extends FerryError {
  static readonly code = 'TRANSACTION_ABORTED';
  constructor(id: string, why: string, options?: FerryErrorOptions) {
    super(TransactionAbortedError.code, `transaction ${JSON.stringify(id)} was aborted (${why}): none of its messages or acks took effect; run it again in a new transaction`, false, { ...options, details: { id, why } });
  }
}

/** A half transaction whose id a newer beginTransaction() took over: this instance is a zombie and may do nothing more. */
export class TransactionFencedError extends FerryError {
  static readonly code = 'TRANSACTION_FENCED';
  constructor(id: string) {
    super(TransactionFencedError.code, `transaction ${JSON.stringify(id)} was fenced by a newer beginTransaction() with the same id, and aborted; drop this instance and use the newer one`, false, { details: { id } });
  }
}

/** publish/ack/commit on a transaction that already committed or aborted. */
export class TransactionFinishedError extends FerryError {
  static readonly code = 'TRANSACTION_FINISHED';
  constructor(id: string, state: string, reason?: string) {
    super(TransactionFinishedError.code, `transaction ${JSON.stringify(id)} is already ${state}${reason ? ` (${reason})` : ''}; start a new one`, false, { details: { id, state, ...(reason ? { reason } : {}) } });
  }
}

for (const cls of [TransactionTooLargeError, TooManyTransactionsError, TransactionAbortedError, TransactionFencedError, TransactionFinishedError]) {
  registerErrorCode(cls.code, cls as unknown as typeof FerryError);
}

/** d.once(key) while another delivery in flight holds the same key: retry later (run() nacks the delivery, so it comes back after the backoff). */
export class OnceKeyBusyError extends FerryError {
  static readonly code = 'ONCE_KEY_BUSY';
  constructor(key: string) {
    super(OnceKeyBusyError.code, `another delivery in flight is processing once-key ${JSON.stringify(key)}; retry this one later (nack it, or throw from a run() handler)`, true, { details: { key } });
  }
}
registerErrorCode(OnceKeyBusyError.code, OnceKeyBusyError as unknown as typeof FerryError);
