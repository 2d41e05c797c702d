// The producer on NATS: each message is one JetStream publish, confirmed by its PubAck (the
// stream's quorum has it in its file store). Messages carry a Nats-Msg-Id (the user's id, or one
// generated per message when idempotent), so a publish retried after a timeout, a lost connection
// or a leader election is stored once (within the stream's duplicate window). Caller's thread.
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import {
  ClosedError,
  InvalidMessageError,
  checkMessageShape,
  partitionOf,
  refuseUnknownOptions,
  type Message,
  type ProducerOptions,
  type PublishResult,
  type ResolvedTopicOptions,
} from '../../core/index.ts';
import { UnsupportedFeatureError } from './errors.ts';
import { retrying, type NatsLink } from './link.ts';
import { GENERATED_ID_PREFIX, subjectOf } from './mapping.ts';
import type { NatsRecorder } from './metrics-recorder.ts';
import { encodePayload } from './payload.ts';
import { streamPublish } from './stream-publish.ts';
import type { NatsProducer } from './types.ts';

/** What a producer needs from its Ferry instance. */
export interface NatsProducerHost {
  readonly link: NatsLink;
  readonly recorder: NatsRecorder;
  topic(name: string): Promise<ResolvedTopicOptions>;
  onClose(): void;
}

const MAX_DELIVERY_TIMEOUT_MS = 5 * 60_000;

/**
 * Publishes messages to NATS JetStream. `publish` resolves once the stream confirmed the message
 * (PubAck); `offset` is the stream's sequence number. Bytes in flight are bounded by
 * `maxBufferBytes`: a publish beyond it waits for room.
 */
export class JetStreamProducer implements NatsProducer {
  readonly #host: NatsProducerHost;
  readonly #idempotent: boolean;
  readonly #deliveryTimeoutMs: number;
  readonly #maxBufferBytes: number;
  /** Generated message ids: this instance's random prefix and a counter. */
  readonly #idPrefix = `${GENERATED_ID_PREFIX}${randomUUID()}.`;
  #idSeq = 0;
  #roundRobin = 0;
  #bufferedBytes = 0;
  readonly #roomWaiters: (() => void)[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(host: NatsProducerHost, options: ProducerOptions = {}) {
    refuseUnknownOptions('producer options', options, ['id', 'idempotent', 'maxBufferBytes', 'maxBatchMessages', 'deliveryTimeoutMs', 'maxInFlightBatches']);
    if (options.id !== undefined) throw new UnsupportedFeatureError('nats', 'a named producer (options.id: fencing an older instance)', 'leave id out: retries are still deduplicated through message ids, but NATS cannot fence an older producer of the same name');
    for (const name of ['maxBatchMessages', 'maxInFlightBatches'] as const) {
      if (options[name] !== undefined) throw new UnsupportedFeatureError('nats', `producer options.${name}`, 'leave it out: each message is its own pipelined publish on NATS');
    }
    if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') throw new InvalidArgumentError(`producer options.idempotent must be true or false (got ${showValue(options.idempotent)})`);
    const timeout = options.deliveryTimeoutMs ?? 30_000;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > MAX_DELIVERY_TIMEOUT_MS) {
      throw new InvalidArgumentError(`producer options.deliveryTimeoutMs must be a number of milliseconds above 0 and at most ${MAX_DELIVERY_TIMEOUT_MS} (got ${showValue(timeout)})`);
    }
    const buffer = options.maxBufferBytes ?? 32 * 1024 * 1024;
    if (!Number.isSafeInteger(buffer) || buffer < 1024 || buffer > 2 ** 32) throw new InvalidArgumentError(`producer options.maxBufferBytes must be a whole number from 1024 to ${2 ** 32} (got ${showValue(buffer)})`);
    this.#host = host;
    this.#idempotent = options.idempotent ?? true;
    this.#deliveryTimeoutMs = timeout;
    this.#maxBufferBytes = buffer;
  }

  /** Publishes one message; resolves once the stream confirmed it. */
  publish(topic: string, message: Message): Promise<PublishResult> {
    return this.publishMany(topic, [message]).then((results) => results[0]!);
  }

  /**
   * Publishes messages (pipelined on the connection, in order); resolves once every one is
   * confirmed. Every message is checked first: one bad message refuses the whole call.
   */
  async publishMany(topic: string, messages: readonly Message[]): Promise<PublishResult[]> {
    if (this.#closing) throw new ClosedError('this producer');
    if (!Array.isArray(messages)) throw new InvalidArgumentError(`publishMany takes an array of messages (got ${showValue(messages)})`);
    const options = await this.#host.topic(topic);
    const encoded = messages.map((m) => this.#encode(m));
    const work = Promise.all(encoded.map((payload, i) => this.#send(topic, options, messages[i]!, payload)));
    this.#inFlight.add(work);
    return work.finally(() => this.#inFlight.delete(work));
  }

  #encode(message: Message): Uint8Array {
    checkMessageShape(message);
    if (message.delayMs !== undefined && message.delayMs !== 0) {
      throw new UnsupportedFeatureError('nats', 'message.delayMs (a delayed message)', 'nats-server 2.9 cannot hold a message back: publish it later, or nack it with delayMs once delivered');
    }
    if (message.id?.startsWith(GENERATED_ID_PREFIX)) throw new InvalidMessageError(`message.id must not begin with '${GENERATED_ID_PREFIX}' (kept for the ids Ferry generates)`);
    const payload = encodePayload({ value: message.value, headers: message.headers, key: message.key, id: message.id, deadLetter: undefined, onlyGroup: undefined });
    // Room for the subject, the id header and the protocol line.
    if (payload.length + 2048 > this.#host.link.maxPayload) throw new InvalidMessageError(`message of ${payload.length} bytes is larger than the servers' max_payload (${this.#host.link.maxPayload} bytes) allows; split it, or raise max_payload`);
    return payload;
  }

  async #send(topic: string, options: ResolvedTopicOptions, message: Message, payload: Uint8Array): Promise<PublishResult> {
    const partition = message.key !== undefined ? partitionOf(message.key, options.partitions) : message.id !== undefined ? partitionOf(`id:${message.id}`, options.partitions) : this.#roundRobin++ % options.partitions;
    // A topic without a dedupe window (dedupWindowMs 0) stores a repeated id again: the user's id
    // then travels in the payload only, and retries are deduplicated by a generated one.
    const userId = options.dedupWindowMs > 0 ? message.id : undefined;
    const msgID = userId ?? (this.#idempotent ? this.#idPrefix + this.#idSeq++ : undefined);
    await this.#room(payload.length);
    try {
      const { link } = this.#host;
      const subject = subjectOf(topic, partition);
      const sentAt = performance.now();
      const timeoutMs = Math.min(link.settings.requestTimeoutMs, this.#deliveryTimeoutMs);
      const ack = await retrying(link, `publishing to ${topic}`, this.#deliveryTimeoutMs, () => streamPublish(link, subject, payload, timeoutMs, msgID));
      this.#host.recorder.published(topic, partition, ack.duplicate, performance.now() - sentAt);
      return { topic, partition, offset: ack.seq, duplicate: ack.duplicate };
    } finally {
      this.#bufferedBytes -= payload.length;
      this.#roomWaiters.shift()?.();
    }
  }

  /** Waits until `bytes` fit in maxBufferBytes (one message larger than it goes alone). */
  async #room(bytes: number): Promise<void> {
    while (this.#bufferedBytes > 0 && this.#bufferedBytes + bytes > this.#maxBufferBytes) await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    this.#bufferedBytes += bytes;
    this.#roomWaiters.shift()?.(); // let the next waiter check too
  }

  /** Waits for every publish in flight to be confirmed or to fail; later publishes are refused. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#inFlight]).then(() => this.#host.onClose());
    return this.#closing;
  }
}
