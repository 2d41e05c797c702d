// Topics on NATS: each is a stream whose description keeps the topic's Ferry options, so every
// process that opens the same servers reads the same options. A cache per Ferry instance answers
// the hot path (publish, deliveries) without a request; a miss asks the server once.
import { TopicConflictError, UnknownTopicError, assertSameTopicOptions, checkName, type ResolvedTopicOptions } from '../../core/index.ts';
import { retrying, type NatsLink } from './link.ts';
import { optionsOfDescription, streamName, streamSubjects, topicDescription, topicOfStream } from './mapping.ts';

const NS_PER_MS = 1_000_000;

export class NatsTopics {
  readonly #link: NatsLink;
  readonly #known = new Map<string, ResolvedTopicOptions>();

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
    if (options) this.#known.set(name, options);
    return options;
  }

  /** Creates the stream of `name` with `options`, or checks that the existing one has the same (TOPIC_CONFLICT otherwise). */
  async ensure(name: string, options: ResolvedTopicOptions): Promise<void> {
    const existing = await this.#fetch(name);
    if (existing) return assertSameTopicOptions(name, existing, options);
    const { jsm, lib, settings } = this.#link;
    const maxAgeMs = options.retention.ms;
    // JetStream keeps ids for duplicate_window (0 would mean its default of 2 minutes: 1 ms is
    // Ferry's "no dedupe"), and refuses a window longer than max_age.
    const windowMs = Math.max(1, maxAgeMs > 0 ? Math.min(options.dedupWindowMs, maxAgeMs) : options.dedupWindowMs);
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
          duplicate_window: windowMs * NS_PER_MS,
          max_age: maxAgeMs * NS_PER_MS,
          max_bytes: options.retention.bytes > 0 ? options.retention.bytes : -1,
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
