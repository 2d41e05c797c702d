// Topics on NATS: each is a stream whose description keeps the topic's Ferry options, so every
// process that opens the same servers reads the same options. A cache per Ferry instance answers
// the hot path (publish, deliveries) without a request; a miss asks the server once. The cache
// follows alterTopic from any process: the servers announce every stream update (an advisory),
// and a reconnect (which may have missed some) reads every known topic again.
import { TopicConflictError, UnknownTopicError, assertSameTopicOptions, checkName, resolveTopicChanges, type ResolvedTopicOptions, type TopicChanges } from '../../core/index.ts';
import { retrying, type NatsLink } from './link.ts';
import { optionsOfDescription, streamName, streamSubjects, topicDescription, topicOfStream } from './mapping.ts';
import { checkStreamOptions, streamLimits } from './stream-config.ts';

/** The subject prefix of JetStream's stream-updated advisories (the stream's name follows). */
const STREAM_UPDATED = '$JS.EVENT.ADVISORY.STREAM.UPDATED.';

/** Told when a known topic's options changed (this process's alterTopic, or another's, seen through the servers). */
export type TopicChangeListener = (topic: string, before: ResolvedTopicOptions, after: ResolvedTopicOptions) => void;

export class NatsTopics {
  readonly #link: NatsLink;
  readonly #known = new Map<string, ResolvedTopicOptions>();
  readonly #listeners = new Set<TopicChangeListener>();
  /** Re-reads under way, and those asked for again meanwhile (each at most one entry per known topic). */
  readonly #refreshing = new Set<string>();
  readonly #refreshAgain = new Set<string>();

  constructor(link: NatsLink) {
    this.#link = link;
  }

  /** Reads every Ferry stream on the servers (at open). */
  async load(): Promise<void> {
    const { settings, jsm } = this.#link;
    await retrying(this.#link, 'listing topics', settings.requestTimeoutMs, async () => {
      for await (const info of jsm.streams.list()) {
        const topic = topicOfStream(info.config.name);
        const options = optionsOfDescription(info.config.description);
        if (topic !== undefined && options !== undefined) this.#known.set(topic, options);
      }
    });
  }

  /** The topics this instance knows: those on the servers at open, and those created or used since. */
  list(): { name: string; options: ResolvedTopicOptions }[] {
    return [...this.#known].map(([name, options]) => ({ name, options }));
  }

  cached(name: string): ResolvedTopicOptions | undefined {
    return this.#known.get(name);
  }

  /** The options of topic `name`, asking the servers on a miss; UNKNOWN_TOPIC if it has no stream. */
  async get(name: string): Promise<ResolvedTopicOptions> {
    const known = await this.find(name);
    if (!known) throw new UnknownTopicError(name);
    return known;
  }

  /** As get(), but undefined if it has no stream (a server that does not answer is still an error). */
  async find(name: string): Promise<ResolvedTopicOptions | undefined> {
    checkName('topic', name);
    return this.#known.get(name) ?? (await this.#fetch(name));
  }

  async #fetch(name: string): Promise<ResolvedTopicOptions | undefined> {
    const { jsm, settings } = this.#link;
    const info = await retrying(this.#link, `reading topic ${name}`, settings.requestTimeoutMs, () => jsm.streams.info(streamName(name)).catch((error: unknown) => {
      if ((error as Error).name === 'StreamNotFoundError') return undefined;
      throw error;
    }));
    const options = info ? optionsOfDescription(info.config.description) : undefined;
    if (info && !options) throw new TopicConflictError(name, 'owner (a stream of that name exists but was not made by Ferry)');
    if (options) this.#set(name, options);
    return options;
  }

  #set(name: string, options: ResolvedTopicOptions): void {
    const before = this.#known.get(name);
    this.#known.set(name, options);
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(options)) for (const listener of this.#listeners) listener(name, before, options);
  }

  /** Listens to changes of known topics' options. Returns the function that stops listening. */
  onChange(listener: TopicChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The options of topic `name` as the servers have them now (UNKNOWN_TOPIC if it has no stream); the cache follows. */
  async current(name: string): Promise<ResolvedTopicOptions> {
    checkName('topic', name);
    const options = await this.#fetch(name);
    if (!options) throw new UnknownTopicError(name);
    return options;
  }

  /**
   * Keeps the cache current: re-reads a known topic when the servers announce an update of its
   * stream, and every known topic after a reconnect. Ends with the connection. Best effort: a
   * re-read that fails leaves the cached options (the next announcement or reconnect tries again).
   */
  watch(): void {
    const { nc } = this.#link;
    nc.subscribe(`${STREAM_UPDATED}*`, {
      callback: (error, msg) => {
        if (error) return; // no permission for advisories: reconnects still re-read
        const topic = topicOfStream(msg.subject.slice(STREAM_UPDATED.length));
        if (topic !== undefined && this.#known.has(topic)) this.#refreshSoon(topic);
      },
    });
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'reconnect') for (const topic of this.#known.keys()) this.#refreshSoon(topic);
    })().catch(() => {});
  }

  /** One re-read of `topic` at a time; one more if asked for during it. */
  #refreshSoon(topic: string): void {
    if (this.#refreshing.has(topic)) {
      this.#refreshAgain.add(topic);
      return;
    }
    this.#refreshing.add(topic);
    void this.#fetch(topic)
      .catch(() => undefined)
      .finally(() => {
        this.#refreshing.delete(topic);
        if (this.#refreshAgain.delete(topic) && !this.#link.nc.isClosed()) this.#refreshSoon(topic);
      });
  }

  /**
   * Merges `changes` over the options the servers have now (see core's resolveTopicChanges: the
   * same refusals as on the embedded engine) and writes them into the stream: its description
   * (what every process reads) and its limits, in one update. Resolves with the new options.
   * The groups' AckWait follows separately (groups.ts alignGroups).
   */
  async alter(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions> {
    const current = await this.current(name);
    const next = resolveTopicChanges(name, current, changes);
    checkStreamOptions(name, next);
    if (JSON.stringify(next) === JSON.stringify(current)) return current;
    const { jsm, settings } = this.#link;
    await retrying(this.#link, `altering topic ${name}`, settings.requestTimeoutMs, () => jsm.streams.update(streamName(name), { description: topicDescription(next), ...streamLimits(next) }));
    this.#set(name, next);
    return next;
  }

  /** Creates the stream of `name` with `options`, or checks that the existing one has the same (TOPIC_CONFLICT otherwise). */
  async ensure(name: string, options: ResolvedTopicOptions): Promise<void> {
    const existing = await this.#fetch(name);
    if (existing) return assertSameTopicOptions(name, existing, options);
    checkStreamOptions(name, options);
    const { jsm, lib, settings } = this.#link;
    try {
      await retrying(this.#link, `creating topic ${name}`, settings.requestTimeoutMs, () =>
        jsm.streams.add({
          name: streamName(name),
          subjects: streamSubjects(name),
          description: topicDescription(options),
          storage: lib.StorageType.File,
          retention: lib.RetentionPolicy.Limits,
          discard: lib.DiscardPolicy.Old,
          num_replicas: settings.replicas,
          ...streamLimits(options),
        }),
      );
    } catch (error) {
      // Another process created it meanwhile: the same options are fine, others a conflict.
      const raced = await this.#fetch(name);
      if (!raced) throw error;
      assertSameTopicOptions(name, raced, options);
    }
    this.#known.set(name, options);
  }

  /** The topics whose dead-letter topic is `name`. */
  deadLetterOf(name: string): string[] {
    return [...this.#known].filter(([, o]) => o.deadLetter === name).map(([t]) => t);
  }
}
