// The producers and consumers an engine handed out (the caller's thread): named producers fence
// their older instances, consumers are remembered with the topics they read (for describeGroup,
// and for refusing to delete or reset what a member is reading), and close drains them all.
import type { EngineEvents } from './engine-events.ts';
import type { OpenedEngine } from './engine-open.ts';
import { ProducerFencedError } from './errors.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { consumerFailedEvent } from './consumer-fault.ts';
import { Producer, type ProducerOptions } from './producer.ts';

/** An open consumer and the topics it reads. */
export interface Member {
  readonly group: string;
  readonly topics: readonly string[];
}

/** The open producers and consumers of one engine. */
export class EngineClients {
  readonly #engine: OpenedEngine;
  readonly #events: EngineEvents;
  /** Called by an exactlyOnce handler's transaction: throws once the engine is closing. */
  readonly #checkOpen: () => void;
  readonly #producers = new Set<Producer>();
  /** Each open consumer, with the topics it reads. */
  readonly #consumers = new Map<Consumer, readonly string[]>();
  /** The current instance of each named producer (the one a newer instance fences). */
  readonly #named = new Map<string, Producer>();
  /** Per named producer: settles once every instance older than the current one is drained. */
  readonly #draining = new Map<string, Promise<unknown> | undefined>();

  constructor(engine: OpenedEngine, events: EngineEvents, checkOpen: () => void) {
    this.#engine = engine;
    this.#events = events;
    this.#checkOpen = checkOpen;
  }

  /** See `Ferry.producer`. */
  producer(options: ProducerOptions): Producer {
    const { catalog, clock } = this.#engine;
    const id = options.id;
    const older = id === undefined ? undefined : this.#named.get(id);
    // Fenced before the new instance exists, in this very call: the older one cannot publish after
    // it. Every older instance must be drained, not only the last (it may still wait on its own elders).
    const olderDrained = id === undefined ? undefined : Promise.all([older?.fence(catalog.epochOf(id) + 1), this.#draining.get(id)]);
    if (id !== undefined) this.#draining.set(id, olderDrained);
    const producer: Producer = new Producer(
      {
        runtime: this.#engine.runtime,
        clock,
        random: this.#engine.random,
        maxMessageBytes: this.#engine.maxMessageBytes,
        topic: this.#engine.topic,
        bumpEpoch: async (producerId) => {
          await olderDrained;
          // Fenced while it waited: a newer instance takes the next epoch, not this one.
          if (this.#named.get(producerId) !== producer) throw new ProducerFencedError(producerId, -1, catalog.epochOf(producerId) + 1);
          return catalog.bumpEpoch(producerId, clock.now());
        },
        onClose: () => {
          this.#producers.delete(producer);
          if (id !== undefined && this.#named.get(id) === producer) this.#named.delete(id);
        },
      },
      options,
    );
    this.#producers.add(producer);
    if (id !== undefined) this.#named.set(id, producer);
    return producer;
  }

  /** See `Ferry.consumer`. */
  consumer<V>(group: string, options: ConsumerOptions): Consumer<V> {
    const { clock, transactions } = this.#engine;
    const consumer: Consumer<V> = new Consumer<V>(
      {
        runtime: this.#engine.runtime,
        clock,
        random: this.#engine.random,
        topic: this.#engine.topic,
        onClose: () => this.#consumers.delete(consumer as Consumer),
        transaction: (headers) => {
          this.#checkOpen();
          return transactions.begin(headers); // an exactlyOnce handler's: its outputs carry `headers`
        },
      },
      group,
      options,
    );
    this.#consumers.set(consumer as Consumer, [...new Set(options.topics)]);
    consumer.onFault((fault) => this.#events.emit('consumerFailed', consumerFailedEvent(group, clock.now(), fault)));
    return consumer;
  }

  /** Every open consumer, as its group and topics. */
  members(): Member[] {
    return [...this.#consumers].map(([c, topics]) => ({ group: c.group, topics }));
  }

  /** The groups of open consumers reading `topic`. */
  readersOf(topic: string): string[] {
    return this.members().filter((m) => m.topics.includes(topic)).map((m) => m.group);
  }

  /** Whether a consumer of `group` is open. */
  hasMember(group: string): boolean {
    return this.members().some((m) => m.group === group);
  }

  /** Closes every consumer (handlers get `timeoutMs` to settle), then flushes every producer. */
  async close(timeoutMs: number | undefined): Promise<void> {
    const consumerOptions = timeoutMs === undefined ? {} : { timeoutMs };
    await Promise.allSettled([...this.#consumers.keys()].map((c) => c.close(consumerOptions)));
    await Promise.allSettled([...this.#producers].map((p) => p.closeWithEngine()));
  }
}
