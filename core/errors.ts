// Typed errors of the engine (topics, producers, consumers). Each has a stable code and a
// message that says what to do; all extend FerryError so they cross threads the same way.
import { FerryError, registerErrorCode, showValue, type FerryErrorOptions } from '../wal/index.ts';
import type { Delivery } from './delivery.ts';

/** A topic or group name that could not be used (it would be a path, is empty or too long). */
export class InvalidNameError extends FerryError {
  static readonly code = 'INVALID_NAME';
  constructor(kind: string, name: unknown, why: string) {
    super(InvalidNameError.code, `invalid ${kind} name ${showValue(name)}: ${why}. Use letters, digits, '.', '_' or '-'`, false, { details: { kind, name: String(name) } });
  }
}

/** The topic does not exist. */
export class UnknownTopicError extends FerryError {
  static readonly code = 'UNKNOWN_TOPIC';
  constructor(topic: string, whatToDo = 'create it with ferry.createTopic() first') {
    super(UnknownTopicError.code, `topic ${JSON.stringify(topic)} does not exist; ${whatToDo}`, false, { details: { topic } });
  }
}

/** createTopic was called again for an existing topic with different options. */
export class TopicConflictError extends FerryError {
  static readonly code = 'TOPIC_CONFLICT';
  constructor(topic: string, field: string) {
    const alter = field === 'partitions' || field === 'deadLetter' ? '' : ', change it with alterTopic';
    super(TopicConflictError.code, `topic ${JSON.stringify(topic)} already exists with another value of ${field}; use the existing options${alter}, or another name`, false, { details: { topic, field } });
  }
}

/** deleteTopic was refused: a consumer reads the topic, or another topic dead-letters into it. */
export class TopicInUseError extends FerryError {
  static readonly code = 'TOPIC_IN_USE';
  constructor(topic: string, why: string) {
    super(TopicInUseError.code, `topic ${JSON.stringify(topic)} cannot be deleted: ${why}`, false, { details: { topic } });
  }
}

/** A message that is too big, or whose value cannot be encoded. Nothing was written. */
export class InvalidMessageError extends FerryError {
  static readonly code = 'INVALID_MESSAGE';
  constructor(message: string, options?: FerryErrorOptions) {
    super(InvalidMessageError.code, message, false, options);
  }
}

/** ack/nack/extend with a token that is no longer current: the lease expired or the message was redelivered. */
export class StaleDeliveryError extends FerryError {
  static readonly code = 'STALE_DELIVERY';
  constructor(topic: string, partition: number, offset: number, why: string) {
    const what = why.startsWith('already settled')
      ? `was already settled, ${why.replace(/^already settled,?\s*/, '') || 'settle ignored'}: by this copy, or by a copy delivered again after this one's lease ran out`
      : `is no longer yours (${why}); it was or will be delivered again, so drop this copy`;
    super(StaleDeliveryError.code, `delivery of ${topic}[${partition}]@${offset} ${what}`, false, {
      details: { topic, partition, offset, why },
    });
  }
}

/** A producer whose id was opened again elsewhere: this instance may no longer publish. */
export class ProducerFencedError extends FerryError {
  static readonly code = 'PRODUCER_FENCED';
  constructor(producerId: string, epoch: number, currentEpoch: number) {
    super(ProducerFencedError.code, `producer ${JSON.stringify(producerId)} epoch ${epoch} was fenced by epoch ${currentEpoch}; close this producer and use the newer one`, false, {
      details: { producerId, epoch, currentEpoch },
    });
  }
}

/** The engine, a producer or a consumer was closed. */
export class ClosedError extends FerryError {
  static readonly code = 'CLOSED';
  /** `remedy`: what the caller can do (by default, open a new one). */
  constructor(what: string, remedy = 'open a new one to continue') {
    super(ClosedError.code, `${what} is closed; ${remedy}`, false);
  }
}

for (const cls of [InvalidNameError, UnknownTopicError, TopicConflictError, TopicInUseError, InvalidMessageError, StaleDeliveryError, ProducerFencedError, ClosedError]) {
  registerErrorCode(cls.code, cls as unknown as typeof FerryError);
}

/** Too many distinct message ids are live in a topic's dedupe window; wait for some to expire. */
export class DedupWindowFullError extends FerryError {
  static readonly code = 'DEDUP_WINDOW_FULL';
  constructor(limit: number) {
    super(DedupWindowFullError.code, `the dedupe window already holds ${limit} live message ids; retry once older ids expire, or shorten dedupWindowMs`, true, { details: { limit } });
  }
}
registerErrorCode(DedupWindowFullError.code, DedupWindowFullError as unknown as typeof FerryError);

/** A consumer asked for a different ordering than the group was created with. */
export class GroupConflictError extends FerryError {
  static readonly code = 'GROUP_CONFLICT';
  constructor(group: string, existing: string, wanted: string) {
    super(GroupConflictError.code, `consumer group ${JSON.stringify(group)} uses ordering '${existing}', not '${wanted}'; use the same ordering in every consumer of a group, or another group name`, false, {
      details: { group, existing, wanted },
    });
  }
}
registerErrorCode(GroupConflictError.code, GroupConflictError as unknown as typeof FerryError);

/**
 * True when an ack/nack/extend failed because the lease no longer exists: it went stale, its
 * consumer closed, or the partition restarted (details.leasesLost). The message comes again.
 */
export function leaseIsGone(error: unknown): boolean {
  return error instanceof StaleDeliveryError || error instanceof ClosedError || (error instanceof FerryError && (error.code === 'UNKNOWN_GROUP' || error.details?.leasesLost === true));
}

/** A request to a partition got no answer within its deadline; it may or may not have been applied. */
export class RequestTimeoutError extends FerryError {
  static readonly code = 'REQUEST_TIMEOUT';
  constructor(what: string, timeoutMs: number) {
    super(RequestTimeoutError.code, `${what} got no answer within ${timeoutMs} ms (a hung or overloaded worker, or a stuck disk); it may have been applied, so retry it (producers do, with the same sequence)`, true, { details: { what, timeoutMs } });
  }
}
registerErrorCode(RequestTimeoutError.code, RequestTimeoutError as unknown as typeof FerryError);

/** deleteGroup or resetGroup of a group that still has an open consumer in this engine. */
export class GroupInUseError extends FerryError {
  static readonly code = 'GROUP_IN_USE';
  constructor(group: string) {
    // Worded for both callers: a reset used to be told "before deleting the group".
    super(GroupInUseError.code, `consumer group ${JSON.stringify(group)} has an open consumer in this engine; close it (consumer.close()) first: a group is reset or deleted only while none of its consumers is open`, false, { details: { group } });
  }
}
registerErrorCode(GroupInUseError.code, GroupInUseError as unknown as typeof FerryError);

/** A settle or fetch for a group the partition does not know (never joined, or deleted). */
export class UnknownGroupError extends FerryError {
  static readonly code = 'UNKNOWN_GROUP';
  constructor(group: string, where: string, whatToDo = 'open a consumer of the group to join it') {
    super(UnknownGroupError.code, `consumer group ${JSON.stringify(group)} is not registered on ${where} (never joined, or deleted); ${whatToDo}`, false, { details: { group, where } });
  }
}
registerErrorCode(UnknownGroupError.code, UnknownGroupError as unknown as typeof FerryError);

/** deleteGroup of a group on none of the topics asked (every topic by default): nothing to delete. */
export function unknownGroupToDelete(group: string, topics: readonly string[] | undefined): UnknownGroupError {
  const where = topics === undefined ? 'any topic' : topics.length === 1 ? `topic ${JSON.stringify(topics[0])}` : `any of the topics ${topics.map((t) => JSON.stringify(t)).join(', ')}`;
  return new UnknownGroupError(group, where, 'there is nothing to delete (check the name: ferry.describe() lists the groups)');
}

/**
 * `run()` on a consumer whose earlier `run()` has not resolved: one consumer runs one handler
 * loop (as BullMQ's `Worker.run()` refuses a second start). More handlers at once is
 * `run(handler, { concurrency })`; another loop is another consumer of the group.
 */
export class AlreadyRunningError extends FerryError {
  static readonly code = 'ALREADY_RUNNING';
  constructor(group: string) {
    super(AlreadyRunningError.code, `this consumer of group ${JSON.stringify(group)} is already running a handler loop (an earlier run() or runBatches() has not resolved); pass { concurrency: n } to that call for n handlers at once, or open another consumer of the group`, false, { details: { group } });
  }
}
registerErrorCode(AlreadyRunningError.code, AlreadyRunningError as unknown as typeof FerryError);

/** redrive of a topic that is no topic's dead-letter topic. */
export class NotDeadLetterTopicError extends FerryError {
  static readonly code = 'NOT_A_DEAD_LETTER_TOPIC';
  constructor(topic: string) {
    super(NotDeadLetterTopicError.code, `topic ${JSON.stringify(topic)} is not the dead-letter topic of any topic; redrive a topic's dead-letter topic (by default '<topic>.dlq')`, false, { details: { topic } });
  }
}
registerErrorCode(NotDeadLetterTopicError.code, NotDeadLetterTopicError as unknown as typeof FerryError);

/** A new topic's dead-letter topic exists already as an ordinary topic (it would dead-letter its own letters). */
export class DeadLetterTopicConflictError extends FerryError {
  static readonly code = 'DEAD_LETTER_TOPIC_CONFLICT';
  constructor(topic: string, deadLetterTopic: string) {
    super(
      DeadLetterTopicConflictError.code,
      `topic ${JSON.stringify(deadLetterTopic)} already exists as an ordinary topic, so it cannot keep ${JSON.stringify(topic)}'s dead letters (it would retry and move them again); create ${JSON.stringify(topic)} first (its dead-letter topic comes with it), or give it another deadLetter topic`,
      false,
      { details: { topic, deadLetterTopic } },
    );
  }
}
registerErrorCode(DeadLetterTopicConflictError.code, DeadLetterTopicConflictError as unknown as typeof FerryError);

/** alterTopic was asked to change an option that cannot change on an existing topic; the message says why and what to do instead. */
export class TopicOptionFixedError extends FerryError {
  static readonly code = 'TOPIC_OPTION_FIXED';
  constructor(topic: string, option: string, why: string) {
    super(TopicOptionFixedError.code, `option ${option} of topic ${JSON.stringify(topic)} cannot change: ${why}`, false, { details: { topic, option } });
  }
}
registerErrorCode(TopicOptionFixedError.code, TopicOptionFixedError as unknown as typeof FerryError);

/** One delivery that `ackMany` could not settle (or `extendMany` could not extend), and why. */
export interface SettleFailure {
  readonly delivery: Delivery;
  readonly error: unknown;
}

/**
 * Some of many deliveries were not settled or extended (ackMany, extendMany): `failures` lists
 * them, each with its error; the message counts them and shows the first error.
 */
abstract class PartlyDoneError extends FerryError {
  declare readonly failures: readonly SettleFailure[];
  constructor(code: string, failures: readonly SettleFailure[], total: number, what: string, advice: string) {
    const first = failures[0];
    const why = first === undefined ? '' : `; the first: ${first.error instanceof Error ? first.error.message : String(first.error)}`;
    super(code, `${failures.length} of ${total} ${what} failed${why}. error.failures lists each with its error: ${advice}`, false, { details: { failed: failures.length, total } });
    // Not enumerable: a logger that serializes the error should not dump every message and lease.
    Object.defineProperty(this, 'failures', { value: failures, enumerable: false });
  }
}

/**
 * `consumer.ackMany()` acked some of its deliveries, not all: `failures` lists the others, each
 * with its error. Retriable: still leased to you, ack it again. STALE_DELIVERY "already settled":
 * it keeps the outcome it already had (a delivery listed twice, or settled before the call).
 * STALE_DELIVERY otherwise, or CLOSED: its lease is gone, it was or will be delivered again.
 */
export class PartlySettledError extends PartlyDoneError {
  static readonly code = 'PARTLY_SETTLED';
  constructor(failures: readonly SettleFailure[], total: number) {
    super(PartlySettledError.code, failures, total, 'acks', 'a retriable one is still leased to you (ack it again); one "already settled" keeps the outcome it had; one whose lease is gone (STALE_DELIVERY, CLOSED) was or will be delivered again');
  }
}
registerErrorCode(PartlySettledError.code, PartlySettledError as unknown as typeof FerryError);

/**
 * A `run()` or `runBatches()` handler threw after it had settled its delivery (every delivery of
 * its batch) itself: the error could not become a nack, so it is reported through
 * `consumer.onFault` (`during: 'handler'`) and the `consumerFailed` event instead of being lost.
 * `cause` is what the handler threw. Nothing is retried: the handler's own ack or nack stands.
 */
export class HandlerThrewError extends FerryError {
  static readonly code = 'HANDLER_THREW';
  constructor(run: 'run' | 'runBatches', where: { readonly topic: string; readonly partition: number; readonly offset: number; readonly attempt: number }, batchSize: number, thrown: unknown) {
    const what = run === 'run' ? `its delivery ${where.topic}[${where.partition}]@${where.offset} (attempt ${where.attempt})` : `all ${batchSize} deliveries of its batch (the first ${where.topic}[${where.partition}]@${where.offset}, attempt ${where.attempt})`;
    const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : showValue(thrown);
    super(
      HandlerThrewError.code,
      `a ${run}() handler threw after it settled ${what} itself, so its error could not become a nack and the handler's own settle stands: ${text}. error.cause is what it threw; settle in the handler only once nothing after it can fail, or catch inside the handler`,
      false,
      { cause: thrown, details: { run, ...where, batchSize } },
    );
  }
}
registerErrorCode(HandlerThrewError.code, HandlerThrewError as unknown as typeof FerryError);

/**
 * `consumer.extendMany()` extended some of its deliveries' leases, not all: `failures` lists the
 * others, each with its error. Retriable: still leased to you until its old deadline, extend it
 * again. STALE_DELIVERY or CLOSED: already settled, or its lease is gone (it was or will be
 * delivered again): drop that copy.
 */
export class PartlyExtendedError extends PartlyDoneError {
  static readonly code = 'PARTLY_EXTENDED';
  constructor(failures: readonly SettleFailure[], total: number) {
    super(PartlyExtendedError.code, failures, total, 'extends', 'a retriable one is still leased to you until its old deadline (extend it again); one already settled, or whose lease is gone (STALE_DELIVERY, CLOSED), is not yours to finish: drop it');
  }
}
registerErrorCode(PartlyExtendedError.code, PartlyExtendedError as unknown as typeof FerryError);
