// Publishing on a partition: a producer's retried batch and repeated message ids are answered
// with their originals' offsets (once those are durable); the rest is appended as one DATA record
// (plus a PRODUCER record when duplicates shrank the batch) and confirmed once durable.
import { readClock } from './clock-reading.ts';
import { encodeControl } from './codec.ts';
import type { PartitionContext, PublishReply, PublishRequest } from './partition-api.ts';
import type { PartitionMetrics } from './partition-metrics.ts';
import { dropDuplicateIds } from './publish-dedupe.ts';
import type { MessageIdWindow, ProducerTable } from './producer-state.ts';
import { DataFlag, RecordType, type ProducerRecord } from './records.ts';

/** What the publisher tells the partition after an append. */
export interface PublishHooks {
  /** Records appended (they count toward the next checkpoint). */
  readonly appended: (records: number) => void;
  /** A batch is durable: parked fetches may take it. */
  readonly stored: () => void;
}

/** Appends producers' batches after dedupe by producer sequence and by message id. */
export class PartitionPublisher {
  readonly #c: PartitionContext;
  readonly #producers: ProducerTable;
  readonly #ids: MessageIdWindow;
  readonly #hooks: PublishHooks;
  readonly #metrics: PartitionMetrics;

  constructor(c: PartitionContext, producers: ProducerTable, ids: MessageIdWindow, hooks: PublishHooks, metrics: PartitionMetrics) {
    this.#metrics = metrics;
    this.#c = c;
    this.#producers = producers;
    this.#ids = ids;
    this.#hooks = hooks;
  }

  /** An append the log refused: a full disk raises a diskFull event; the error goes on to the producer. */
  readonly #refused = (error: unknown): never => {
    const at = readClock(this.#c.clock);
    this.#metrics.diskFull(this.#c.topic, this.#c.partition, error, at.wall, at.mono);
    throw error;
  };

  /** Appends a batch after dedupe; resolves once it is durable, with each message's offset. */
  publish(request: PublishRequest): Promise<PublishReply> {
    try {
      return this.#publish(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #publish(request: PublishRequest): Promise<PublishReply> {
    const { wall: now, mono } = readClock(this.#c.clock); // now: record timestamps; mono: the dedupe window
    const { producer } = request;
    if (producer) {
      const seen = this.#producers.check(producer.id, producer.epoch, producer.baseSequence, request.count, producer.name);
      // The original may still be on its way to disk: confirmed only once it is there (a failed
      // sync rejects the retry too, as it did the original).
      if (seen.kind === 'duplicate') return this.#once(this.#c.log.sync(), request.count, { offsets: seen.offsets, duplicates: Array<boolean>(request.count).fill(true) });
    }
    // Most batches carry no message ids (or the topic keeps no window): nothing to drop, every
    // message gets the next offset, one DATA record (the common path, once per batch).
    if (request.count > 0 && (request.ids === undefined || this.#c.options.dedupWindowMs === 0)) return this.#appendAll(request, now, mono);
    return this.#publishWithIds(request, now, mono);
  }

  /** A batch with message ids: the ones live in the window (or repeated in the batch) are dropped, the rest appended. */
  async #publishWithIds(request: PublishRequest, now: number, mono: number): Promise<PublishReply> {
    const { producer } = request;
    const { payload, count, offsets, duplicates, firstInBatch } = dropDuplicateIds(request, this.#c.options.dedupWindowMs > 0 ? this.#ids : undefined, mono);
    const log = this.#c.log;
    const before = log.nextOffset;
    // Every message of the batch gets its offset: the next ones in the log, or its original's.
    let next = before;
    for (let i = 0; i < offsets.length; i++) if (!duplicates[i]) offsets[i] = next++;
    for (let i = 0; i < offsets.length; i++) if (firstInBatch[i]! >= 0) offsets[i] = offsets[firstInBatch[i]!]!;
    const data = { type: RecordType.DATA, flags: request.ids?.some(Boolean) ? 0 : DataFlag.NO_IDS, recordCount: count, payload, timestamp: now };
    const producerFields = producer ? { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.baseSequence } : {};
    // A batch whose duplicates were dropped holds fewer messages than sequence numbers: its
    // sequence range goes in a PRODUCER record, written in the same append, all or nothing.
    const sequenceRecord =
      producer && count < request.count
        ? { type: RecordType.PRODUCER, recordCount: 1, payload: encodeControl({ p: producer.id, e: producer.epoch, s: producer.baseSequence, n: request.count, o: offsets } satisfies ProducerRecord), timestamp: now }
        : undefined;
    const inputs = [...(count > 0 ? [{ ...data, ...(sequenceRecord ? {} : producerFields) }] : []), ...(sequenceRecord ? [sequenceRecord] : [])];
    if (inputs.length === 0) {
      // Every message repeats an id whose original may still be on its way to disk: confirmed
      // only once it is there (issue 9), as a retried batch is above.
      if (offsets.some((o) => o >= log.committedEnd)) await log.sync();
      this.#metrics.duplicates += request.count;
      return { offsets, duplicates };
    }
    const appended = log.appendMany(inputs);
    if (log.nextOffset === before) {
      await appended.catch(this.#refused); // not written (disk full, overloaded, ...): rejects with the reason
      throw new Error('unreachable: an append that wrote nothing resolved');
    }
    if (producer) this.#producers.record(producer.id, producer.epoch, producer.baseSequence, request.count, sequenceRecord ? offsets : before);
    for (let i = 0; i < offsets.length; i++) {
      const id = request.ids?.[i];
      if (id && !duplicates[i]) this.#ids.add(id, offsets[i]!, mono);
    }
    this.#hooks.appended(inputs.length);
    await appended.catch(this.#refused);
    this.#metrics.published += count;
    this.#metrics.duplicates += request.count - count;
    if (this.#metrics.timed) this.#metrics.confirm.record(this.#c.clock.monotonicNow() - mono);
    this.#hooks.stored();
    return { offsets, duplicates };
  }

  /** A batch without message ids: appended whole, as one DATA record, at the log's next offsets. */
  #appendAll(request: PublishRequest, now: number, mono: number): Promise<PublishReply> {
    const { producer, count } = request;
    const log = this.#c.log;
    const before = log.nextOffset;
    const flags = request.ids?.some(Boolean) ? 0 : DataFlag.NO_IDS; // replay skips reading what carries no ids
    const input = producer
      ? { type: RecordType.DATA, flags, recordCount: count, payload: request.payload, timestamp: now, producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.baseSequence }
      : { type: RecordType.DATA, flags, recordCount: count, payload: request.payload, timestamp: now };
    const appended = log.append(input);
    if (log.nextOffset === before) return appended.then(() => Promise.reject(new Error('unreachable: an append that wrote nothing resolved')), this.#refused);
    if (producer) this.#producers.record(producer.id, producer.epoch, producer.baseSequence, count, before);
    this.#hooks.appended(1);
    const offsets = new Array<number>(count);
    const duplicates = new Array<boolean>(count);
    for (let i = 0; i < count; i++) {
      offsets[i] = before + i;
      duplicates[i] = false;
    }
    return this.#durable(appended, count, 0, mono, { offsets, duplicates });
  }

  /** Confirms `reply` once `appended` is durable: counts it, and wakes the parked fetches. */
  #durable(appended: Promise<unknown>, stored: number, dropped: number, mono: number, reply: PublishReply): Promise<PublishReply> {
    return appended.then(() => {
      this.#metrics.published += stored;
      this.#metrics.duplicates += dropped;
      if (this.#metrics.timed) this.#metrics.confirm.record(this.#c.clock.monotonicNow() - mono);
      this.#hooks.stored();
      return reply;
    }, this.#refused);
  }

  /** Answers a batch stored before (every message a duplicate) once `durable` settles. */
  #once(durable: Promise<void>, count: number, reply: PublishReply): Promise<PublishReply> {
    return durable.then(() => {
      this.#metrics.duplicates += count;
      return reply;
    });
  }
}
