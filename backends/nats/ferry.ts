// Ferry on NATS JetStream: the client-facing API (topics, producers, consumers, deliveries,
// redrive) over one NATS connection. JetStream owns the partitions, leases and replication;
// Ferry keeps its own rules on top (typed errors, stale-lease fencing, dead-lettering once).
// See docs/NATS.md for the mapping and what differs. Caller's thread.
import { realClock } from '../../wal/index.ts';
import {
  ClosedError,
  EngineEvents,
  resolveAlertOptions,
  type FerryEventMap,
  type FerryEventName,
  DEAD_LETTER_TOPIC_OPTIONS,
  GroupInUseError,
  assertDeadLetterTarget,
  checkName,
  checkTopicNames,
  consumerFailedEvent,
  refuseUnknownOptions,
  resolveTopicOptions,
  unknownGroupToDelete,
  type ConsumerOptions,
  type ProducerOptions,
  type RedriveOptions,
  type ResolvedTopicOptions,
  type TopicChanges,
  type TopicOptions,
} from '../../core/index.ts';
import { checkCloseOptions } from '../../core/close-options.ts';
import { JetStreamConsumer } from './consumer.ts';
import { alignGroups, deleteGroupOn } from './groups.ts';
import { UnsupportedFeatureError } from './errors.ts';
import { connectNats, withDeadline, type NatsLink } from './link.ts';
import { collectNatsMetrics, natsAlertInput } from './metrics.ts';
import { NatsRecorder } from './metrics-recorder.ts';
import { NatsOnceKeys } from './once-keys.ts';
import { natsMetricsText } from './metrics-text.ts';
import { resolveNatsOptions, type NatsFerryOptions } from './options.ts';
import { JetStreamProducer } from './producer.ts';
import { redriveNats } from './redrive.ts';
import { checkStreamOptions } from './stream-config.ts';
import { NatsTopics } from './topics.ts';
import type { NatsConsumer, NatsMetrics, NatsProducer } from './types.ts';

/** Events NATS cannot raise, and why (listening for one is refused: it would never fire). */
const EVENTS_NATS_CANNOT_RAISE: Partial<Record<FerryEventName, string>> = {
  tornTailCut: 'the servers recover their own stores (see their logs)',
  diskFull: 'a publish the servers refuse for want of room fails with BACKEND_REQUEST_FAILED',
  fsyncFailed: 'the servers sync their own stores (see their logs)',
  retentionBlocked: "retention is the stream's own (max_age, max_bytes)",
  shardRestarted: 'there are no worker threads on NATS',
  shardFailed: 'there are no worker threads on NATS',
};

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
  readonly #recorder = new NatsRecorder();
  readonly #onceKeys: NatsOnceKeys;
  readonly #events: EngineEvents;
  #closing: Promise<void> | undefined;
  /** The alterTopic under way: they run one at a time, so the groups end with the options the stream ends with. */
  #altering: Promise<unknown> = Promise.resolve();

  private constructor(link: NatsLink, topics: NatsTopics, alerts: ReturnType<typeof resolveAlertOptions>) {
    this.#link = link;
    this.#topics = topics;
    this.#onceKeys = new NatsOnceKeys(link);
    this.#events = new EngineEvents(() => natsAlertInput(link, topics, this.#recorder), realClock, alerts);
  }

  /** Connects (BACKEND_UNAVAILABLE after `connectTimeoutMs`) and reads the topics on the servers. */
  static async open(options: NatsFerryOptions): Promise<NatsFerry> {
    const settings = resolveNatsOptions(options as unknown as Record<string, unknown>);
    const alerts = resolveAlertOptions(options.alerts);
    const link = await connectNats(settings);
    try {
      const topics = new NatsTopics(link);
      await topics.load();
      topics.watch();
      return new NatsFerry(link, topics, alerts);
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
   * ones TOPIC_CONFLICT; DEAD_LETTER_TOPIC_CONFLICT if its dead-letter topic exists already as an
   * ordinary topic (as on the embedded engine). The options live in the stream, shared by every process.
   */
  async createTopic(name: string, options?: TopicOptions): Promise<void> {
    this.#checkOpen();
    checkName('topic', name);
    const existing = await this.#topics.find(name);
    if (options === undefined && existing) return;
    const resolved = resolveTopicOptions(name, options ?? {});
    checkStreamOptions(name, resolved); // before its dead-letter topic is made
    if (resolved.deadLetter !== false) {
      const target = await this.#topics.find(resolved.deadLetter);
      if (!target) await this.createTopic(resolved.deadLetter, DEAD_LETTER_TOPIC_OPTIONS);
      else assertDeadLetterTarget(name, existing === undefined, resolved.deadLetter, target);
    }
    await this.#topics.ensure(name, resolved);
  }

  /**
   * Changes options of an existing topic, for every process: maxDeliveries, backoff, ackTimeoutMs,
   * dedupWindowMs and retention (`{ retention: { ms } }` keeps the stored bytes bound), merged over
   * the options the servers have now. The stream is updated first (its description holds the
   * options every process reads, and its max_age, max_bytes and duplicate_window follow them), then
   * the AckWait of every group's durable consumers. Other processes see the change when the
   * servers announce the stream's update (within milliseconds), or at their next reconnect.
   * `partitions` and `deadLetter` cannot change (TOPIC_OPTION_FIXED, saying why); a retention.ms
   * or dedupWindowMs from 1 to 99 is refused (UNSUPPORTED: JetStream's floor is 100 ms). A
   * shorter ackTimeoutMs applies at once to messages already delivered too (JetStream measures
   * every pending message against the current AckWait): the leases held here are shortened to
   * match. Resolves with the topic's options now.
   */
  alterTopic(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions> {
    this.#checkOpen();
    const run = this.#altering.then(async () => {
      const next = await this.#topics.alter(name, changes);
      // Sent even when nothing changed: a retry after a failure here reaches the groups it missed.
      await alignGroups(this.#link, name, next);
      return next;
    });
    this.#altering = run.catch(() => {});
    return run;
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
      await this.#onceKeys.forgetGroup(topic, group);
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
    const producer: JetStreamProducer = new JetStreamProducer({ link: this.#link, recorder: this.#recorder, topic: (name) => this.#topics.get(name), onClose: () => this.#producers.delete(producer) }, options);
    this.#producers.add(producer);
    return producer;
  }

  /** A member of consumer group `group`, reading `options.topics`; members in any process share the work. */
  consumer<V = unknown>(group: string, options: ConsumerOptions): NatsConsumer<V> {
    this.#checkOpen();
    checkName('group', group);
    const consumer: JetStreamConsumer<V> = new JetStreamConsumer<V>({ link: this.#link, topics: this.#topics, recorder: this.#recorder, onceKeys: this.#onceKeys, onClose: () => this.#consumers.delete(consumer as JetStreamConsumer) }, group, options);
    this.#consumers.add(consumer as JetStreamConsumer);
    consumer.onFault((fault) => this.#events.emit('consumerFailed', consumerFailedEvent(group, Date.now(), fault)));
    return consumer;
  }

  /** Moves dead letters back, each once (see backends/nats/redrive.ts). Resolves with the number moved. */
  async redrive(deadLetterTopic: string, options: RedriveOptions = {}): Promise<number> {
    this.#checkOpen();
    const moved = await redriveNats(this.#link, this.#topics, deadLetterTopic, options);
    this.#recorder.redriven(deadLetterTopic, moved);
    return moved;
  }

  /**
   * A snapshot: this instance's counts (publishes, and per group deliveries, acks, nacks,
   * redeliveries, expired leases, dead letters, latency histograms), and from the servers, for
   * every process, each topic's stream and each group's in flight, unread, lag and lag age.
   * A topic whose servers do not answer is in `unavailable`, its gauges null. See docs/NATS.md.
   */
  metrics(): Promise<NatsMetrics> {
    this.#checkOpen();
    return collectNatsMetrics(this.#link, this.#topics, this.#recorder);
  }

  /** The snapshot as Prometheus text: the embedded engine's families where the figures mean the same (see backends/nats/metrics-text.ts). */
  async metricsText(): Promise<string> {
    return natsMetricsText(await this.metrics());
  }

  /**
   * Listens to an alert event, as on the embedded engine: those this instance raises
   * (deadLettered, maxDeliveriesReached, leaseExpired, consumerFailed, eventsDropped) and those
   * derived from the figures every `alerts.pollMs` (lagHigh, lagRecovered, consumerStalled,
   * redeliveryStorm). Events of the servers' own storage are refused with UNSUPPORTED.
   * Returns the function that stops listening.
   */
  on<K extends FerryEventName>(name: K, listener: (event: FerryEventMap[K]) => void): () => void {
    this.#checkOpen();
    const why = EVENTS_NATS_CANNOT_RAISE[name];
    if (why !== undefined) throw new UnsupportedFeatureError('nats', `the ${name} event`, `it never fires here: ${why}`);
    return this.#events.on(name, listener);
  }

  /** Collects and delivers pending events now, without waiting for the next poll. */
  pollEvents(): Promise<void> {
    this.#checkOpen();
    return this.#events.poll();
  }

  // What the embedded engine offers and JetStream cannot (or this backend does not yet): refused
  // with UNSUPPORTED, saying what to use instead, so a JavaScript caller gets a typed error, not a TypeError.

  /** Refused on NATS (UNSUPPORTED): delete the stream `<topic>` with the nats CLI (`nats stream rm`). */
  deleteTopic(name: string): Promise<boolean> {
    return Promise.reject(new UnsupportedFeatureError('nats', `deleteTopic(${JSON.stringify(name)})`, "delete its stream with the nats CLI (nats stream rm), after closing every consumer of it"));
  }

  /** Refused on NATS (UNSUPPORTED): browse the stream with `nats stream get` or a consumer of a new group. */
  read(topic: string): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', `read(${JSON.stringify(topic)})`, 'browse the stream with the nats CLI (nats stream get / nats stream view), or consume it with a new group'));
  }

  /** Refused on NATS (UNSUPPORTED): JetStream keeps no per-message history of deliveries. */
  inspect(topic: string): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', `inspect(${JSON.stringify(topic)}, …)`, 'JetStream keeps no history of deliveries per message: use the deadLettered and leaseExpired events, or the dead letter\'s headers'));
  }

  /** Refused on NATS (UNSUPPORTED): move the group's durable consumers with the nats CLI. */
  resetGroup(group: string): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', `resetGroup(${JSON.stringify(group)}, …)`, 'delete the group (deleteGroup) and start it again with consumer(group, { startAt })'));
  }

  /** Refused on NATS (UNSUPPORTED): use metrics() (streams and groups, from the servers). */
  describe(): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', 'describe()', 'use metrics() (every topic and group, from the servers) and topics()'));
  }

  /** Refused on NATS (UNSUPPORTED): use topics() and metrics(). */
  describeTopic(name: string): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', `describeTopic(${JSON.stringify(name)})`, 'use topics() for its options and metrics() for its stream'));
  }

  /** Refused on NATS (UNSUPPORTED): use metrics(). */
  describeGroup(name: string): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', `describeGroup(${JSON.stringify(name)})`, "use metrics() for the group's in flight, unread, lag and lag age"));
  }

  /** Refused on NATS (UNSUPPORTED): transactions need the embedded engine's one log. */
  transaction(): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', 'transaction()', 'use the embedded engine for transactions, or publish with message ids and ack after (at-least-once, deduplicated)'));
  }

  /** Refused on NATS (UNSUPPORTED): transactional messages need the embedded engine's one log. */
  beginTransaction(): Promise<never> {
    return Promise.reject(new UnsupportedFeatureError('nats', 'beginTransaction()', 'use the embedded engine for transactional messages'));
  }

  /**
   * Closes gracefully: consumers hand back what no handler took and wait up to `timeoutMs` for
   * handlers to settle, producers wait for their confirms, then the connection drains. Idempotent.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    try {
      checkCloseOptions(options); // a bad timeoutMs is refused before anything closes (not remembered by a half-done close)
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closing ??= (async () => {
      this.#events.close();
      const consumerOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
      const consumers = [...this.#consumers];
      await Promise.allSettled(consumers.map((c) => c.close(consumerOptions)));
      // Pulls in flight bring messages until they end; those are handed back over the connection.
      await Promise.allSettled(consumers.map((c) => c.pullsEnded()));
      await Promise.allSettled([...this.#producers].map((p) => p.close()));
      // Drain sends what is buffered; with the servers gone it could wait for ever: bounded.
      const { nc, settings } = this.#link;
      if (!nc.isClosed()) await withDeadline(nc.drain(), settings.requestTimeoutMs, () => new Error('drain timed out')).catch(() => nc.close());
      this.#link.requests.close();
    })();
    return this.#closing;
  }
}
