// Ferry on NATS JetStream: the client-facing API (topics, producers, consumers, deliveries,
// redrive) over one NATS connection. JetStream owns the partitions, leases and replication;
// Ferry keeps its own rules on top (typed errors, stale-lease fencing, dead-lettering once).
// See docs/NATS.md for the mapping and what differs. Caller's thread.
import {
  ClosedError,
  DEAD_LETTER_TOPIC_OPTIONS,
  GroupInUseError,
  checkName,
  checkTopicNames,
  refuseUnknownOptions,
  resolveTopicOptions,
  unknownGroupToDelete,
  type ConsumerOptions,
  type ProducerOptions,
  type RedriveOptions,
  type ResolvedTopicOptions,
  type TopicOptions,
} from '../../core/index.ts';
import { JetStreamConsumer } from './consumer.ts';
import { deleteGroupOn } from './groups.ts';
import { connectNats, withDeadline, type NatsLink } from './link.ts';
import { resolveNatsOptions, type NatsFerryOptions } from './options.ts';
import { JetStreamProducer } from './producer.ts';
import { redriveNats } from './redrive.ts';
import { NatsTopics } from './topics.ts';
import type { NatsConsumer, NatsProducer } from './types.ts';

/**
 * Ferry's API on NATS JetStream, opened with `Ferry.open({ backend: { kind: 'nats', servers } })`.
 * Every process that opens the same servers shares the topics and groups.
 */
export class NatsFerry {
  /** Which backend this is, for code that serves several. */
  readonly backend = 'nats' as const;
  readonly #link: NatsLink;
  readonly #topics: NatsTopics;
  readonly #producers = new Set<JetStreamProducer>();
  readonly #consumers = new Set<JetStreamConsumer>();
  #closing: Promise<void> | undefined;

  private constructor(link: NatsLink, topics: NatsTopics) {
    this.#link = link;
    this.#topics = topics;
  }

  /** Connects (BACKEND_UNAVAILABLE after `connectTimeoutMs`) and reads the topics on the servers. */
  static async open(options: NatsFerryOptions): Promise<NatsFerry> {
    const settings = resolveNatsOptions(options as unknown as Record<string, unknown>);
    const link = await connectNats(settings);
    try {
      const topics = new NatsTopics(link);
      await topics.load();
      return new NatsFerry(link, topics);
    } catch (error) {
      await link.nc.close().catch(() => {});
      throw error;
    }
  }

  #checkOpen(): void {
    if (this.#closing) throw new ClosedError('this Ferry instance');
  }

  /**
   * Creates a topic (a stream) and its dead-letter topic, or ensures it exists: without options an
   * existing topic is taken as it is; with options, the same options are a no-op and different
   * ones TOPIC_CONFLICT. The options live in the stream, shared by every process.
   */
  async createTopic(name: string, options?: TopicOptions): Promise<void> {
    this.#checkOpen();
    checkName('topic', name);
    if (options === undefined && (await this.#topics.get(name).catch(() => undefined))) return;
    const resolved = resolveTopicOptions(name, options ?? {});
    if (resolved.deadLetter !== false && !(await this.#topics.get(resolved.deadLetter).catch(() => undefined))) {
      await this.createTopic(resolved.deadLetter, DEAD_LETTER_TOPIC_OPTIONS);
    }
    await this.#topics.ensure(name, resolved);
  }

  /**
   * Deletes consumer group `group` (its durable consumers) from `topics` (default: every topic
   * this instance knows). GROUP_IN_USE while a consumer of the group is open here (consumers in
   * other processes lose their pulls and report faults); UNKNOWN_GROUP when it is on none of the
   * topics. Resolves with the topics it was on.
   */
  async deleteGroup(group: string, options: { readonly topics?: readonly string[] } = {}): Promise<string[]> {
    this.#checkOpen();
    checkName('group', group);
    refuseUnknownOptions('deleteGroup options', options, ['topics']);
    if ([...this.#consumers].some((c) => c.group === group)) throw new GroupInUseError(group);
    const deletedFrom: string[] = [];
    for (const topic of options.topics === undefined ? this.#topics.list().map((t) => t.name) : checkTopicNames('deleteGroup options.topics', options.topics)) {
      await this.#topics.get(topic);
      if (await deleteGroupOn(this.#link, topic, group)) deletedFrom.push(topic);
    }
    if (deletedFrom.length === 0) throw unknownGroupToDelete(group, options.topics);
    return deletedFrom;
  }

  /** The topics this instance knows: those on the servers when it opened, and those created or used since. */
  topics(): { name: string; options: ResolvedTopicOptions }[] {
    return this.#topics.list();
  }

  /** A producer. Named producers (`id`, fencing) are refused: NATS has no epoch to fence with. */
  producer(options: ProducerOptions = {}): NatsProducer {
    this.#checkOpen();
    const producer: JetStreamProducer = new JetStreamProducer({ link: this.#link, topic: (name) => this.#topics.get(name), onClose: () => this.#producers.delete(producer) }, options);
    this.#producers.add(producer);
    return producer;
  }

  /** A member of consumer group `group`, reading `options.topics`; members in any process share the work. */
  consumer<V = unknown>(group: string, options: ConsumerOptions): NatsConsumer<V> {
    this.#checkOpen();
    checkName('group', group);
    const consumer: JetStreamConsumer<V> = new JetStreamConsumer<V>({ link: this.#link, topics: this.#topics, onClose: () => this.#consumers.delete(consumer as JetStreamConsumer) }, group, options);
    this.#consumers.add(consumer as JetStreamConsumer);
    return consumer;
  }

  /** Moves dead letters back, each once (see backends/nats/redrive.ts). Resolves with the number moved. */
  redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
    this.#checkOpen();
    return redriveNats(this.#link, this.#topics, deadLetterTopic, options);
  }

  /**
   * Closes gracefully: consumers hand back what no handler took and wait up to `timeoutMs` for
   * handlers to settle, producers wait for their confirms, then the connection drains. Idempotent.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    refuseUnknownOptions('close options', options, ['timeoutMs']);
    this.#closing ??= (async () => {
      const consumerOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
      const consumers = [...this.#consumers];
      await Promise.allSettled(consumers.map((c) => c.close(consumerOptions)));
      // Pulls in flight bring messages until they end; those are handed back over the connection.
      await Promise.allSettled(consumers.map((c) => c.pullsEnded()));
      await Promise.allSettled([...this.#producers].map((p) => p.close()));
      // Drain sends what is buffered; with the servers gone it could wait for ever: bounded.
      const { nc, settings } = this.#link;
      if (!nc.isClosed()) await withDeadline(nc.drain(), settings.requestTimeoutMs, () => new Error('drain timed out')).catch(() => nc.close());
    })();
    return this.#closing;
  }
}
