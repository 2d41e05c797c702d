// The dead-letter outbox: sends each group's dying messages (a durable DEAD_INTENT) to the
// dead-letter topic, one at a time in sequence order, then records them DEAD. The letter's
// producer sequence is its intent's number, so a letter sent twice (a crash between send and
// DEAD) is stored once.
import type { DeadLetterInfo } from './partition-api.ts';
import { deadLetterRecord } from './dead-letter.ts';
import type { GroupState } from './group-state.ts';
import type { PartitionContext } from './partition-api.ts';
import type { PartitionJournal } from './partition-journal.ts';
import type { PartitionMetrics } from './partition-metrics.ts';
import type { RecordCache } from './record-cache.ts';
import { RecordType } from './records.ts';

/** Sends dead letters for a partition's groups; retries every second while the target is unavailable. */
export class DeadLetterOutbox {
  readonly #c: PartitionContext;
  readonly #where: string;
  readonly #records: RecordCache;
  readonly #journal: PartitionJournal;
  /** Called when a letter is settled: the next message of its key, or a freed slot, may go. */
  readonly #onSettled: () => void;
  readonly #sending = new Set<string>();
  readonly #metrics: PartitionMetrics;
  #closed = false;

  constructor(c: PartitionContext, where: string, records: RecordCache, journal: PartitionJournal, onSettled: () => void, metrics: PartitionMetrics) {
    this.#metrics = metrics;
    this.#c = c;
    this.#where = where;
    this.#records = records;
    this.#journal = journal;
    this.#onSettled = onSettled;
  }

  /** Sends the group's next dying message unless one of its letters is already on its way. */
  send(g: GroupState): void {
    if (this.#sending.has(g.name) || this.#closed) return;
    const next = g.dying().sort((a, b) => a.deadSeq - b.deadSeq)[0];
    if (!next) return;
    this.#sending.add(g.name);
    const { deadLetter } = this.#c.options;
    const send = async (): Promise<void> => {
      // Its DEAD_INTENT must be durable before the letter leaves (issue 17, seed 752587): a letter
      // sent for an intent that a power loss then takes back lends its sequence number to another
      // message's letter, which the dead-letter topic would answer as a duplicate and never store.
      if (this.#c.log.committedEnd < this.#c.log.nextOffset) await this.#c.log.sync();
      if (deadLetter !== false && this.#c.deadLetters) {
        const found = this.#records.read(next.offset, this.#c.log, this.#where);
        const record = found.payload.subarray(found.start, found.end);
        const info: DeadLetterInfo = { topic: this.#c.topic, partition: this.#c.partition, offset: next.offset, group: g.name, attempts: next.failures, firstDeliveredAt: next.firstDeliveredAt, lastDeliveredAt: next.lastDeliveredAt, lastError: next.lastError };
        await this.#c.deadLetters({ deadLetterTopic: deadLetter, producerKey: `dlq/${this.#c.topic}/${this.#c.partition}/${g.name}`, sequence: next.deadSeq - 1, record: deadLetterRecord(record, info, this.#c.maxMessageBytes), info });
      }
      await this.#journal.record(RecordType.DEAD, { g: g.name, o: next.offset }, () => g.settle(next.offset, this.#c.clock.monotonicNow(), true));
      g.releaseKey(next.offset, this.#c.clock.monotonicNow()); // durable now: the next message of its key may go
      this.#metrics.group(g.name).deadLettered++;
      const { topic, partition } = this.#c;
      this.#metrics.event({ type: 'deadLettered', at: this.#c.clock.now(), topic, partition, group: g.name, offset: next.offset, attempts: next.failures, deadLetterTopic: deadLetter === false ? null : deadLetter, lastError: next.lastError });
    };
    send().then(
      () => {
        this.#sending.delete(g.name);
        this.#onSettled();
        this.send(g);
      },
      () => {
        // The dead-letter topic is unavailable (or this partition failed): try again later.
        this.#sending.delete(g.name);
        if (!this.#closed && !this.#c.log.failure) this.#c.clock.setTimer(1000, () => this.send(g));
      },
    );
  }

  /** Sends nothing more (letters on their way finish or fail on the closing log). */
  close(): void {
    this.#closed = true;
  }
}
