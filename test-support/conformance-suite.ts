// The conformance suite (issue 15): one set of behaviour tests that every backend of Ferry's API
// runs (embedded: core/conformance.test.ts; NATS JetStream: backends/nats/conformance.test.ts), as
// Watermill's universal tests do for its pub/subs. What a backend cannot do is a feature flag: the
// test then checks that the backend refuses it with a typed error, never that it is skipped.
// Real time throughout (short leases); every topic name is fresh, so tests share one backend.
import { describe, expect, it, type TestContext } from 'vitest';
import type { ConsumerFault, Delivery, Message, PublishResult, TopicOptions, ConsumerOptions, DeadLetterInfo, FerryEventMap, FerryEventName, TopicChanges } from '../index.ts';
import type { ResolvedTopicOptions } from '../core/index.ts';
import { fresh, nextWithin, sleep, takeAll } from './conformance-helpers.ts';
import { describeConsumerConformance } from './conformance-consumer.ts';
import { describeMetricsConformance } from './conformance-metrics.ts';

/** The part of Ferry's API the suite uses: what both `Ferry` and `NatsFerry` provide. */
export interface FerryApi {
  createTopic(name: string, options?: TopicOptions): Promise<void>;
  alterTopic(name: string, changes: TopicChanges): Promise<ResolvedTopicOptions>;
  topics(): { name: string; options: ResolvedTopicOptions }[];
  producer(options?: { readonly idempotent?: boolean }): {
    publish(topic: string, message: Message): Promise<PublishResult>;
    publishMany(topic: string, messages: readonly Message[]): Promise<PublishResult[]>;
    close(): Promise<void>;
  };
  consumer<V = unknown>(group: string, options: ConsumerOptions): ConsumerApi<V>;
  redrive(deadLetterTopic: string, options?: { readonly to?: string; readonly limit?: number }): Promise<number>;
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
  metrics(): Promise<MetricsApi>;
  metricsText(): Promise<string>;
  on<K extends FerryEventName>(name: K, listener: (event: FerryEventMap[K]) => void): () => void;
  pollEvents(): Promise<void>;
}

/** The figures of a snapshot every backend gives (a gauge a backend could not read is null). */
export interface MetricsApi {
  readonly topics: readonly { readonly topic: string; readonly published: number; readonly duplicates: number; readonly redriven: number }[];
  readonly groups: readonly {
    readonly group: string;
    readonly topic: string;
    readonly delivered: number;
    readonly acked: number;
    readonly nacked: number;
    readonly redeliveredAfterNack: number;
    readonly redeliveredAfterLeaseExpiry: number;
    readonly leasesExpired: number;
    readonly deadLettered: number;
    readonly inFlight: number | null;
    readonly lag: number | null;
    readonly lagAgeMs: number | null;
  }[];
  readonly engine: { readonly confirm: { readonly count: number }; readonly handler: { readonly count: number } };
  readonly unavailable: readonly unknown[];
}

/** The alert thresholds every backend of the suite opens with (the lag alert test relies on them). */
export const CONFORMANCE_ALERTS = Object.freeze({ lagMessages: 5 });

export interface ConsumerApi<V> extends AsyncIterable<Delivery<V>> {
  next(): Promise<Delivery<V> | undefined>;
  run(handler: (d: Delivery<V>) => Promise<void> | void, options?: { readonly concurrency?: number }): Promise<void>;
  runBatches(handler: (batch: Delivery<V>[]) => Promise<void> | void, options?: { readonly maxBatchSize?: number; readonly concurrency?: number }): Promise<void>;
  ackMany(deliveries: readonly Delivery<V>[]): Promise<void>;
  extendMany(deliveries: readonly Delivery<V>[], ms?: number): Promise<void>;
  onFault(listener: (fault: ConsumerFault) => void): () => void;
  close(options?: { readonly timeoutMs?: number }): Promise<void>;
}

/** How the suite reaches one backend. */
export interface ConformanceBackend {
  /** Opens an instance; `skip` when the backend cannot run here (the tests report SKIPPED with it). */
  open(): Promise<FerryApi | { skip: string }>;
  /**
   * Restarts what stores the data while `ferry` is open: the embedded engine closes and reopens
   * (returning the new instance); a NATS server is killed (SIGKILL) and started again.
   */
  restart(ferry: FerryApi): Promise<FerryApi>;
  /** Closes every instance and frees what open() took. */
  cleanup(): Promise<void>;
}

/** What a backend can do; `false` means it must refuse the feature with a typed error. */
export interface ConformanceFeatures {
  /** message.delayMs */
  readonly delays: boolean;
  /**
   * An ack that was confirmed is never undone by a crash of what stores it. nats-server 2.9
   * confirms an ack (AckAck) before its consumer state is on disk: after a SIGKILL, recent acks
   * may be lost and those messages delivered again (at-least-once still holds).
   */
  readonly acksSurviveCrash: boolean;
  /**
   * The events of the engine's own storage and threads (diskFull, tornTailCut, fsyncFailed,
   * retentionBlocked, shardRestarted, shardFailed). NATS keeps its own store: listening is refused.
   */
  readonly storageEvents: boolean;
}


/** Defines the suite for one backend: `describeConformance('NATS', backend, { delays: false })`. */
export function describeConformance(name: string, backend: ConformanceBackend, features: ConformanceFeatures): void {
  describe(`conformance: ${name}`, () => {
    /** The backend's instance, or the test reports itself skipped with the reason. */
    const ferryFor = async (ctx: TestContext): Promise<FerryApi> => {
      const opened = await backend.open();
      if ('skip' in opened) ctx.skip(opened.skip);
      return opened as FerryApi;
    };

    it('round-trips value, key, headers and id; a key keeps one partition', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('roundtrip');
      await ferry.createTopic(topic, { partitions: 4 });
      const producer = ferry.producer();
      const sent: Message[] = [
        { value: { n: 1, nested: [1, 'two'] }, key: 'alpha', headers: { trace: 'a-1' } },
        { value: 'second', key: 'alpha', id: 'id-2' },
        { value: Uint8Array.of(1, 2, 3), headers: { 'x-y': 'line\nbreak' } },
      ];
      const results = await producer.publishMany(topic, sent);
      expect(results[0]!.partition).toBe(results[1]!.partition);
      expect(results.every((r) => r.topic === topic && !r.duplicate)).toBe(true);
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const got = await takeAll(consumer, 3);
      await consumer.close();
      const byValue = (v: unknown): Delivery | undefined => got.find((d) => JSON.stringify(d.value) === JSON.stringify(v));
      expect(byValue(sent[0]!.value)).toMatchObject({ key: 'alpha', headers: { trace: 'a-1' }, id: undefined, attempt: 1, topic });
      expect(byValue('second')).toMatchObject({ key: 'alpha', id: 'id-2' });
      expect(byValue(Uint8Array.of(1, 2, 3))?.headers).toEqual({ 'x-y': 'line\nbreak' });
      for (const d of got) expect(results.some((r) => r.partition === d.partition && r.offset === d.offset)).toBe(true);
    });

    it('refuses a value msgpack cannot carry with INVALID_MESSAGE saying what to send instead (a bigint past 64 bits: as a string, not msgpackr options a user cannot set)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('unencodable');
      await ferry.createTopic(topic);
      const producer = ferry.producer();
      const big = await producer.publish(topic, { value: { amount: 2n ** 70n } }).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(big).toMatchObject({ code: 'INVALID_MESSAGE' });
      expect(big!.message).toContain('toString()');
      expect(big!.message).not.toMatch(/largeBigInt|useBigInt/);
      const fn = await producer.publish(topic, { value: { run: () => 1 } }).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(fn).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringContaining('functions cannot be encoded') });
      await producer.publish(topic, { value: 2n ** 63n }); // within 64 bits: sent, and a bigint again on the way out
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const [d] = await takeAll(consumer, 1);
      await consumer.close();
      expect(d!.value).toBe(2n ** 63n);
    });

    it('shares a group\'s work between its consumers, each message handled once', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('share');
      await ferry.createTopic(topic, { partitions: 2 });
      await ferry.producer().publishMany(topic, Array.from({ length: 40 }, (_, i) => ({ value: i })));
      const group = fresh('g');
      const handled: number[][] = [[], []];
      const consumers = [0, 1].map(() => ferry.consumer<number>(group, { topics: [topic], maxInFlight: 2 }));
      const runs = consumers.map((c, i) =>
        c.run(async (d) => {
          handled[i]!.push(d.value);
          await sleep(10);
        }),
      );
      const deadline = Date.now() + 20_000;
      while (handled[0]!.length + handled[1]!.length < 40 && Date.now() < deadline) await sleep(20);
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.all(runs);
      expect([...handled[0]!, ...handled[1]!].sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
      expect(handled[0]!.length).toBeGreaterThan(0);
      expect(handled[1]!.length).toBeGreaterThan(0);
    });

    it('gives every group every message', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('groups');
      await ferry.createTopic(topic, { partitions: 3 });
      await ferry.producer().publishMany(topic, Array.from({ length: 12 }, (_, i) => ({ value: i, key: `k${i % 5}` })));
      for (const group of [fresh('billing'), fresh('shipping')]) {
        const consumer = ferry.consumer<number>(group, { topics: [topic] });
        const got = await takeAll(consumer, 12);
        await consumer.close();
        expect(got.map((d) => d.value).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
      }
    });

    it('redelivers a nacked message with the next attempt number', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('nack');
      await ferry.createTopic(topic, { backoff: { kind: 'fixed', delayMs: 50 } });
      await ferry.producer().publish(topic, { value: 'retry me' });
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const first = await consumer.next();
      expect(first?.attempt).toBe(1);
      await first!.nack({ error: new Error('not yet') });
      const second = await nextWithin(consumer, 10_000);
      expect(second).toMatchObject({ value: 'retry me', attempt: 2, offset: first!.offset });
      await second!.ack();
      expect(await nextWithin(consumer, 300)).toBeUndefined();
      await consumer.close();
    });

    it('runBatches acks each delivery of a batch that resolves and nacks each of one that throws', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('batches');
      await ferry.createTopic(topic, { backoff: { kind: 'fixed', delayMs: 50 } });
      await ferry.producer().publishMany(topic, Array.from({ length: 20 }, (_, i) => ({ value: i })));
      const consumer = ferry.consumer<number>(fresh('g'), { topics: [topic], maxInFlight: 20 });
      const seen: string[] = [];
      let failedOnce = false;
      let largest = 0;
      const running = consumer.runBatches((batch) => {
        largest = Math.max(largest, batch.length); // asserted below: a throw here would be a nack
        for (const d of batch) seen.push(`${d.value}@${d.attempt}`);
        if (!failedOnce && batch.some((d) => d.value === 5)) {
          failedOnce = true;
          throw new Error('this batch fails once');
        }
      }, { maxBatchSize: 8 });
      const until = Date.now() + 15_000;
      while (!seen.includes('5@2') && Date.now() < until) await sleep(20);
      await sleep(300); // nothing more comes: every other delivery was acked
      await consumer.close();
      await running;
      const firstTries = seen.filter((s) => s.endsWith('@1')).map((s) => Number(s.split('@')[0]));
      expect(firstTries.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
      expect(seen).toContain('5@2');
      expect(seen.filter((s) => s.endsWith('@2')).length).toBeGreaterThanOrEqual(1);
      expect(seen.filter((s) => !s.endsWith('@1') && !s.endsWith('@2'))).toEqual([]);
      expect(largest).toBeLessThanOrEqual(8);
    });

    it('ackMany acks many deliveries with one promise; one already settled is named in PARTLY_SETTLED and the rest stay acked', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('ack-many');
      await ferry.createTopic(topic);
      await ferry.producer().publishMany(topic, Array.from({ length: 6 }, (_, i) => ({ value: i })));
      const consumer = ferry.consumer<number>(fresh('g'), { topics: [topic], maxInFlight: 10 });
      const held: Delivery<number>[] = [];
      for (let i = 0; i < 6; i++) held.push((await nextWithin(consumer, 10_000))!);
      await held[0]!.ack();
      const error = await consumer.ackMany(held).then(() => undefined, (e: unknown) => e as { code: string; failures: { delivery: { offset: number } }[] });
      expect(error?.code).toBe('PARTLY_SETTLED');
      expect(error?.failures.map((f) => f.delivery.offset)).toEqual([held[0]!.offset]);
      expect(await nextWithin(consumer, 300)).toBeUndefined(); // the other five stay acked
      await consumer.ackMany([]);
      await consumer.close();
    });

    it('waits a nack\'s delayMs before redelivering', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('nack-delay');
      await ferry.createTopic(topic, { backoff: { kind: 'fixed', delayMs: 0 } });
      await ferry.producer().publish(topic, { value: 'later' });
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const first = await consumer.next();
      const nacked = Date.now();
      await first!.nack({ delayMs: 700 });
      const again = await nextWithin(consumer, 10_000);
      expect(again).toMatchObject({ value: 'later', attempt: 2 });
      expect(Date.now() - nacked).toBeGreaterThanOrEqual(650);
      await again!.ack();
      await consumer.close();
    });

    it('redelivers a message nobody settled once its lease ends', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('lease');
      await ferry.createTopic(topic, { ackTimeoutMs: 400 });
      await ferry.producer().publish(topic, { value: 'held' });
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const first = await consumer.next();
      const taken = Date.now();
      const again = await nextWithin(consumer, 10_000);
      expect(again).toMatchObject({ value: 'held', attempt: 2, offset: first!.offset });
      expect(Date.now() - taken).toBeGreaterThanOrEqual(300);
      await again!.ack();
      await consumer.close();
    });

    it('refuses a settle after the lease ended (a stale ack is not taken)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('stale');
      await ferry.createTopic(topic, { ackTimeoutMs: 300 });
      await ferry.producer().publish(topic, { value: 'slow' });
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const d = await consumer.next();
      await sleep(700);
      await expect(d!.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
      const again = await nextWithin(consumer, 10_000);
      expect(again?.attempt).toBeGreaterThanOrEqual(2);
      await again!.ack();
      await consumer.close();
    });

    it('keeps a lease that is extended past ackTimeoutMs', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('extend');
      await ferry.createTopic(topic, { ackTimeoutMs: 600 });
      await ferry.producer().publish(topic, { value: 'long job' });
      const group = fresh('g');
      const consumer = ferry.consumer(group, { topics: [topic] });
      const d = await consumer.next();
      // Another member of the group, waiting: it would get the message if the lease ended.
      const other = ferry.consumer(group, { topics: [topic] });
      const otherGot = nextWithin(other, 1500);
      for (let i = 0; i < 3; i++) {
        await sleep(350);
        await d!.extend();
      }
      await d!.ack(); // 1050 ms after the start: past ackTimeoutMs, still leased
      expect(await otherGot).toBeUndefined();
      await Promise.all([consumer.close(), other.close()]);
    });

    if (features.delays) {
      it('holds a delayed message back until its delay passed', async (ctx) => {
        const ferry = await ferryFor(ctx);
        const topic = fresh('delay');
        await ferry.createTopic(topic);
        const sent = Date.now();
        await ferry.producer().publish(topic, { value: 'later', delayMs: 400 });
        const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
        const d = await nextWithin(consumer, 10_000);
        expect(d?.value).toBe('later');
        expect(Date.now() - sent).toBeGreaterThanOrEqual(390);
        await d!.ack();
        await consumer.close();
      });
    } else {
      it('refuses a delayed message with UNSUPPORTED (never sends it at once)', async (ctx) => {
        const ferry = await ferryFor(ctx);
        const topic = fresh('delay');
        await ferry.createTopic(topic);
        await expect(ferry.producer().publish(topic, { value: 'later', delayMs: 400 })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
        const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
        expect(await nextWithin(consumer, 1200)).toBeUndefined();
        await consumer.close();
      });
    }

    it('dead-letters a message once after maxDeliveries, with its history, and redrives it to its group', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('dlq');
      await ferry.createTopic(topic, { maxDeliveries: 3, backoff: { kind: 'fixed', delayMs: 20 } });
      const [published] = await ferry.producer().publishMany(topic, [{ value: 'poison', key: 'k', id: 'poison-1' }]);
      const group = fresh('g');
      const consumer = ferry.consumer(group, { topics: [topic] });
      const audit = ferry.consumer(fresh('audit'), { topics: [topic] }); // another group: it acks the original
      await takeAll(audit, 1);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const d = await nextWithin(consumer, 10_000);
        expect(d?.attempt).toBe(attempt);
        await d!.nack({ error: new Error(`failure ${attempt}`) });
      }
      expect(await nextWithin(consumer, 500)).toBeUndefined();
      const letters = ferry.consumer(fresh('ops'), { topics: [`${topic}.dlq`] });
      const [letter] = await takeAll(letters, 1);
      expect(letter).toMatchObject({ value: 'poison', key: 'k' });
      expect(letter!.deadLetter).toMatchObject({ topic, partition: published!.partition, offset: published!.offset, group, attempts: 3 } satisfies Partial<DeadLetterInfo>);
      expect(letter!.deadLetter!.lastError).toContain('failure 3');
      expect(await nextWithin(letters, 500)).toBeUndefined(); // exactly one letter
      await letters.close();

      expect(await ferry.redrive(`${topic}.dlq`)).toBe(1);
      const back = await nextWithin(consumer, 10_000);
      expect(back).toMatchObject({ value: 'poison', key: 'k', id: 'poison-1', attempt: 1 });
      await back!.ack();
      expect(await ferry.redrive(`${topic}.dlq`)).toBe(0);
      expect(await nextWithin(audit, 500)).toBeUndefined(); // the copy is for the group that dead-lettered it only
      await Promise.all([consumer.close(), audit.close()]);
    });

    it('dead-letters a message whose last lease ran out, once', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('dlq-lease');
      await ferry.createTopic(topic, { maxDeliveries: 1, ackTimeoutMs: 300 });
      await ferry.producer().publish(topic, { value: 'forgotten' });
      const group = fresh('g');
      const consumer = ferry.consumer(group, { topics: [topic] });
      const held = await consumer.next(); // never settled
      expect(held?.attempt).toBe(1);
      expect(await nextWithin(consumer, 1500)).toBeUndefined(); // not handed out again
      const letters = ferry.consumer(fresh('ops'), { topics: [`${topic}.dlq`] });
      const [letter] = await takeAll(letters, 1);
      expect(letter).toMatchObject({ value: 'forgotten' });
      expect(letter!.deadLetter).toMatchObject({ topic, group, attempts: 1 });
      expect(await nextWithin(letters, 500)).toBeUndefined();
      await Promise.all([consumer.close(), letters.close()]);
    });

    it('refuses a new topic whose dead-letter topic exists already as an ordinary topic (DEAD_LETTER_TOPIC_CONFLICT)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('orders');
      await ferry.createTopic(`${topic}.dlq`); // an ops service that started first
      // Taken as its dead-letter topic, it would retry letters and move them on to a .dlq.dlq.
      await expect(ferry.createTopic(topic, { maxDeliveries: 1 })).rejects.toMatchObject({ code: 'DEAD_LETTER_TOPIC_CONFLICT', message: expect.stringContaining(`create "${topic}" first`) });
      expect(ferry.topics().map((t) => t.name)).not.toContain(topic);
      await expect(ferry.producer().publish(topic, { value: 'x' })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      const jobs = fresh('jobs');
      await ferry.createTopic(jobs); // the usual order: the dead-letter topic comes with it
      await ferry.createTopic(`${jobs}.dlq`); // an ops service ensuring it afterwards is fine
      await ferry.createTopic(jobs, {}); // as is creating the topic again
    });

    it('goes on with the next message of a key once the one before it was dead-lettered (ordering: key)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('order-dlq');
      await ferry.createTopic(topic, { maxDeliveries: 1 }); // ackTimeoutMs stays 30 s: nothing may wait for a lease
      await ferry.producer().publishMany(topic, [{ value: 'poison', key: 'k' }, { value: 'next', key: 'k' }]);
      const consumer = ferry.consumer(fresh('g'), { topics: [topic], ordering: 'key' });
      const poison = await nextWithin(consumer, 10_000);
      expect(poison?.value).toBe('poison');
      await poison!.nack({ error: 'bad' }); // its only attempt: dead-lettered, settled for the group
      const next = await nextWithin(consumer, 5000);
      expect(next?.value).toBe('next');
      await next!.ack();
      await consumer.close();
    });

    it('d.once(key): true for a new key, ONCE_KEY_BUSY while another delivery holds it, false once an ack recorded it', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('once');
      await ferry.createTopic(topic, { backoff: { kind: 'fixed', delayMs: 20 } });
      const producer = ferry.producer();
      await producer.publishMany(topic, [{ value: 'a' }, { value: 'b' }]);
      const consumer = ferry.consumer<string>(fresh('mailer'), { topics: [topic], maxInFlight: 2 });
      const a = (await nextWithin(consumer, 10_000))!;
      const b = (await nextWithin(consumer, 10_000))!;
      expect(await a.once('email:1')).toBe(true);
      expect(await a.once('email:1')).toBe(true); // its own claim, asked again
      await expect(b.once('email:1')).rejects.toMatchObject({ code: 'ONCE_KEY_BUSY' });
      await a.ack(); // records the key
      await b.nack();
      const again = (await nextWithin(consumer, 10_000))!;
      expect(again).toMatchObject({ value: 'b', attempt: 2 });
      expect(await again.once('email:1')).toBe(false); // skip the effect
      await again.ack();
      await producer.publish(topic, { value: 'c' }); // a later repeat, another message
      const later = (await nextWithin(consumer, 10_000))!;
      expect(await later.once('email:1')).toBe(false);
      expect(await later.once('email:2')).toBe(true);
      await later.ack();
      await consumer.close();
    });

    it('stores a repeated message id once within the dedupe window', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('dedupe');
      await ferry.createTopic(topic, { partitions: 2 });
      const producer = ferry.producer();
      const a = await producer.publish(topic, { value: 'first', id: 'order-7' });
      const b = await producer.publish(topic, { value: 'again', id: 'order-7' });
      expect(b).toMatchObject({ duplicate: true, partition: a.partition, offset: a.offset });
      const consumer = ferry.consumer(fresh('g'), { topics: [topic] });
      const [d] = await takeAll(consumer, 1);
      expect(d!.value).toBe('first');
      expect(await nextWithin(consumer, 500)).toBeUndefined();
      await consumer.close();
    });

    it('keeps each key in publish order through retries (ordering: key)', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('order');
      await ferry.createTopic(topic, { partitions: 2, backoff: { kind: 'fixed', delayMs: 30 } });
      const keys = ['a', 'b', 'c'];
      await ferry.producer().publishMany(topic, Array.from({ length: 24 }, (_, i) => ({ value: i, key: keys[i % 3]! })));
      const group = fresh('g');
      const acked = new Map<string, number[]>();
      const consumers = [0, 1].map(() => ferry.consumer<number>(group, { topics: [topic], ordering: 'key', maxInFlight: 4 }));
      let total = 0;
      const runs = consumers.map((c) =>
        c.run(
          async (d) => {
            if (d.value % 4 === 0 && d.attempt === 1) throw new Error('first try fails');
            acked.set(d.key!, [...(acked.get(d.key!) ?? []), d.value]);
            total++;
          },
          { concurrency: 4 },
        ),
      );
      const deadline = Date.now() + 30_000;
      while (total < 24 && Date.now() < deadline) await sleep(20);
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.all(runs);
      expect(total).toBe(24);
      for (const [key, values] of acked) expect(values, `key ${key}`).toEqual([...values].sort((x, y) => x - y));
    });

    it('alterTopic: a raised maxDeliveries and a shorter ackTimeoutMs apply at once and after a restart', async (ctx) => {
      let ferry = await ferryFor(ctx);
      const topic = fresh('alter');
      await ferry.createTopic(topic, { maxDeliveries: 2, backoff: { kind: 'fixed', delayMs: 20 } }); // ackTimeoutMs: 30 s
      await ferry.producer().publish(topic, { value: 'flaky' });
      const group = fresh('g');
      const consumer = ferry.consumer(group, { topics: [topic] });
      const first = await nextWithin(consumer, 10_000);
      expect(first?.attempt).toBe(1);
      await first!.nack({ error: 'first' });
      const changed = await ferry.alterTopic(topic, { maxDeliveries: 3, ackTimeoutMs: 500 });
      expect(changed).toMatchObject({ maxDeliveries: 3, ackTimeoutMs: 500, partitions: 1, deadLetter: `${topic}.dlq` });
      const second = await nextWithin(consumer, 10_000);
      expect(second?.attempt).toBe(2);
      await second!.nack({ error: 'second' }); // its last attempt under the old maxDeliveries of 2
      const third = await nextWithin(consumer, 10_000);
      expect(third?.attempt).toBe(3);
      // Never settled: its lease of 500 ms (not 30 s) runs out on the last attempt, and it is dead-lettered.
      expect(await nextWithin(consumer, 1500)).toBeUndefined();
      const letters = ferry.consumer(fresh('ops'), { topics: [`${topic}.dlq`] });
      const [letter] = await takeAll(letters, 1, 10_000);
      expect(letter!.deadLetter).toMatchObject({ topic, group, attempts: 3 });
      await expect(third!.ack()).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
      await Promise.all([consumer.close({ timeoutMs: 0 }), letters.close()]);

      ferry = await backend.restart(ferry);
      expect(ferry.topics().find((t) => t.name === topic)?.options).toMatchObject({ maxDeliveries: 3, ackTimeoutMs: 500 });
      await ferry.producer().publish(topic, { value: 'after' });
      const later = ferry.consumer(group, { topics: [topic] });
      const held = await nextWithin(later, 10_000); // never settled: back after 500 ms (under 30 s, not within the wait)
      const again = await nextWithin(later, 10_000);
      expect(again).toMatchObject({ value: 'after', attempt: 2, offset: held!.offset });
      await again!.ack();
      await later.close();
    });

    it('alterTopic: dedupWindowMs 0 stores a repeated id again; partitions cannot change; bad changes change nothing', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('alter-dedupe');
      await ferry.createTopic(topic, { partitions: 2 });
      const producer = ferry.producer();
      await producer.publish(topic, { value: 1, id: 'a' });
      expect(await producer.publish(topic, { value: 2, id: 'a' })).toMatchObject({ duplicate: true });
      expect((await ferry.alterTopic(topic, { dedupWindowMs: 0 })).dedupWindowMs).toBe(0);
      await producer.publish(topic, { value: 3, id: 'b' });
      await sleep(50);
      expect(await producer.publish(topic, { value: 4, id: 'b' })).toMatchObject({ duplicate: false });
      const consumer = ferry.consumer<number>(fresh('g'), { topics: [topic] });
      const got = await takeAll(consumer, 3);
      expect(await nextWithin(consumer, 300)).toBeUndefined();
      await consumer.close();
      expect(got.map((d) => d.value).sort()).toEqual([1, 3, 4]);

      const before = ferry.topics().find((t) => t.name === topic)?.options;
      await expect(ferry.alterTopic(topic, { partitions: 3 } as never)).rejects.toMatchObject({ code: 'TOPIC_OPTION_FIXED', message: expect.stringContaining('partitions') });
      await expect(ferry.alterTopic(topic, { deadLetter: 'elsewhere' } as never)).rejects.toMatchObject({ code: 'TOPIC_OPTION_FIXED' });
      await expect(ferry.alterTopic(topic, { maxDeliveries: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(ferry.alterTopic(topic, { maxDelivery: 4 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(ferry.alterTopic(fresh('nope'), { maxDeliveries: 4 })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      expect(ferry.topics().find((t) => t.name === topic)?.options).toEqual(before);
      const same = await ferry.alterTopic(topic, { partitions: 2, retention: { ms: 60_000 } } as never); // the stored count again is no change
      expect(same).toMatchObject({ partitions: 2, retention: { ms: 60_000, bytes: 0 }, dedupWindowMs: 0 });
    });

    it('loses nothing when a consumer closes mid-stream', async (ctx) => {
      const ferry = await ferryFor(ctx);
      const topic = fresh('close');
      await ferry.createTopic(topic, { partitions: 2 });
      await ferry.producer().publishMany(topic, Array.from({ length: 30 }, (_, i) => ({ value: i })));
      const group = fresh('g');
      const first = ferry.consumer<number>(group, { topics: [topic], maxInFlight: 8 });
      const done = new Set<number>();
      for (const d of await takeAll(first, 10)) done.add(d.value);
      const held = await first.next(); // held, never settled: handed back at close
      await first.close({ timeoutMs: 0 });
      expect(held).toBeDefined();
      const second = ferry.consumer<number>(group, { topics: [topic] });
      for (const d of await takeAll(second, 20)) done.add(d.value);
      await second.close();
      expect([...done].sort((a, b) => a - b)).toEqual([...Array(30).keys()]);
    });

    it('loses no confirmed message across a restart of what stores them', async (ctx) => {
      let ferry = await ferryFor(ctx);
      const topic = fresh('restart');
      // A short lease: NATS redelivers what was pending at a restart once AckWait passed.
      await ferry.createTopic(topic, { partitions: 2, ackTimeoutMs: 2000 });
      const group = fresh('g');
      const before = ferry.consumer<number>(group, { topics: [topic] });
      await ferry.producer().publishMany(topic, Array.from({ length: 20 }, (_, i) => ({ value: i })));
      const acked = (await takeAll(before, 5)).map((d) => d.value);
      await before.close();
      ferry = await backend.restart(ferry);
      const after = ferry.consumer<number>(group, { topics: [topic] });
      const seen = new Set(acked);
      const again: number[] = [];
      const deadline = Date.now() + 30_000;
      while (seen.size < 20 && Date.now() < deadline) {
        const d = await nextWithin(after, Math.max(1, deadline - Date.now()));
        if (!d) break;
        if (acked.includes(d.value)) again.push(d.value);
        seen.add(d.value);
        await d.ack();
      }
      for (let d = await nextWithin(after, 500); d; d = await nextWithin(after, 500)) {
        if (acked.includes(d.value)) again.push(d.value);
        await d.ack();
      }
      await after.close();
      expect([...seen].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
      // A confirmed ack is never undone, where the backend keeps acks through a crash.
      if (features.acksSurviveCrash) expect(again).toEqual([]);
    });

    describeConsumerConformance(ferryFor);
    describeMetricsConformance(ferryFor, features);
  });
}
