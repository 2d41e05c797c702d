// The engine's catalog: topics (with their options) and producer epochs, kept in a small log of
// its own (`<dir>/_catalog`) so that they survive restarts. Runs on the engine's thread.
import { appendRecord } from './append-record.ts';
import { decodeControl, encodeControl } from './codec.ts';
import { assertSameTopicOptions, type ResolvedTopicOptions } from './topic-options.ts';
import type { WriteAheadLog } from '../wal/index.ts';

const TOPIC = 1;
const PRODUCER_EPOCH = 2;

interface TopicEntry { readonly name: string; readonly options: ResolvedTopicOptions }
interface EpochEntry { readonly id: string; readonly epoch: number }

/** Topics and producer epochs, loaded from and appended to the catalog log. */
export class Catalog {
  readonly #log: WriteAheadLog;
  readonly #topics = new Map<string, ResolvedTopicOptions>();
  readonly #epochs = new Map<string, number>();

  private constructor(log: WriteAheadLog) {
    this.#log = log;
  }

  static load(log: WriteAheadLog): Catalog {
    const catalog = new Catalog(log);
    for (let offset = log.startOffset; offset < log.nextOffset; ) {
      const batches = log.read(offset, { maxBytes: 1 << 20, upToOffset: log.nextOffset });
      if (batches.length === 0) break;
      for (const b of batches) {
        offset = b.baseOffset + b.recordCount;
        if (b.type === TOPIC) {
          const t = decodeControl<TopicEntry>(b.payload);
          catalog.#topics.set(t.name, t.options);
        } else if (b.type === PRODUCER_EPOCH) {
          const e = decodeControl<EpochEntry>(b.payload);
          catalog.#epochs.set(e.id, e.epoch);
        }
      }
    }
    return catalog;
  }

  topic(name: string): ResolvedTopicOptions | undefined {
    return this.#topics.get(name);
  }

  topics(): [string, ResolvedTopicOptions][] {
    return [...this.#topics];
  }

  /** Records a new topic durably; true if it was new, false if it existed with the same options. */
  async addTopic(name: string, options: ResolvedTopicOptions, now: number): Promise<boolean> {
    const existing = this.#topics.get(name);
    if (existing) {
      assertSameTopicOptions(name, existing, options);
      return false;
    }
    await appendRecord(this.#log, { type: TOPIC, recordCount: 1, payload: encodeControl({ name, options }), timestamp: now }, () => this.#topics.set(name, options));
    return true;
  }

  /** The latest epoch given to producer `id` (-1 if none). */
  epochOf(id: string): number {
    return this.#epochs.get(id) ?? -1;
  }

  /** Gives producer `id` a new epoch (fencing older instances), durably. */
  async bumpEpoch(id: string, now: number): Promise<number> {
    const epoch = (this.#epochs.get(id) ?? -1) + 1;
    await appendRecord(this.#log, { type: PRODUCER_EPOCH, recordCount: 1, payload: encodeControl({ id, epoch }), timestamp: now }, () => this.#epochs.set(id, epoch));
    return epoch;
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}
