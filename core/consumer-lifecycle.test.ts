// The consumer's life as a service lives it (issue 9 §1): buffered messages are never charged an
// attempt, close() is graceful, leaving a `for await` loop closes, nack takes what a catch block
// holds or dead-letters at once, a forgotten delivery frees its slot, retriable faults never kill
// a consumer, and a message that does not decode is dead-lettered instead of wedging it.
import { describe, expect, it } from 'vitest';
import { FerryError, ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { frameMessages } from './codec.ts';
import { Consumer } from './consumer.ts';
import { AlreadyRunningError } from './errors.ts';
import type { Ferry } from './ferry.ts';
import { LocalRuntime } from './local-runtime.ts';
import type { PartitionCommand } from './partition-protocol.ts';
import type { PartitionRuntime } from './runtime.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

/** Sleeps `ms` on the manual clock (the test advances it). */
const sleep = (clock: ManualClock, ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));

/** Advances the manual clock in steps until `done()` or `maxMs` passed. */
async function runClock(clock: ManualClock, done: () => boolean, maxMs: number, stepMs = 10): Promise<void> {
  for (let t = 0; t < maxMs && !done(); t += stepMs) {
    clock.advance(stepMs);
    await flush(4);
  }
}

/** Reads every letter of `topic.dlq` now there: value → attempts. */
async function letters(ferry: Ferry, topic: string, expected: number, clock: ManualClock): Promise<Map<unknown, number>> {
  const out = new Map<unknown, number>();
  const ops = ferry.consumer('ops', { topics: [`${topic}.dlq`], maxInFlight: 100 });
  const reading = ops.run((d) => void out.set(d.value, d.deadLetter!.attempts));
  await runClock(clock, () => out.size >= expected, 2000);
  await ops.close({ timeoutMs: 0 });
  await reading;
  return out;
}

/** An engine whose fsyncs complete only as the manual clock moves (every 50 ms), with `count` messages 0.. on topic `t` (1 partition). */
async function slowDiskWith(seed: number, count: number): Promise<{ setup: ReturnType<typeof memoryFerry>; ferry: Ferry }> {
  const setup = memoryFerry(seed, { fsync: 'interval', fsyncIntervalMs: 50 });
  const settled = async <T>(pending: Promise<T>): Promise<T> => {
    await runClock(setup.clock, () => false, 200);
    return pending;
  };
  const ferry = await settled(setup.open());
  await settled(ferry.createTopic('t', { partitions: 1 }));
  await settled(ferry.producer().publishMany('t', Array.from({ length: count }, (_, i) => ({ value: i }))));
  return { setup, ferry };
}

describe('the consumer life cycle', () => {
  // The review's case: 10 messages, all prefetched, one 300 ms handler at a time, 1 s leases and 2
  // deliveries at most. Before, messages 3-9 aged in the buffer, ran twice and were dead-lettered.
  it('never charges an attempt for a message waiting in its buffer', async () => {
    const setup = memoryFerry(21);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000, maxDeliveries: 2 });
    await ferry.producer().publishMany('t', Array.from({ length: 10 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['t'] });
    const runs: [number, number][] = [];
    const running = consumer.run(async (d) => {
      runs.push([d.value, d.attempt]);
      await sleep(setup.clock, 300);
    });
    await runClock(setup.clock, () => runs.length >= 10 && setup.clock.now() > 0, 6000);
    await runClock(setup.clock, () => false, 2000); // room for a second run or a dead letter to show up
    const closing = consumer.close();
    await runClock(setup.clock, () => false, 400);
    await closing;
    await running;
    expect(runs.map(([v]) => v).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(runs.every(([, attempt]) => attempt === 1)).toBe(true);
    expect((await letters(ferry, 't', 0, setup.clock)).size).toBe(0);
    await ferry.close({ timeoutMs: 0 });
  });

  it('close() lets running handlers finish and keeps their acks; run() resolves after them; the rest comes back uncharged', async () => {
    const setup = memoryFerry(22);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 5000 });
    await ferry.producer().publishMany('t', Array.from({ length: 6 }, (_, i) => ({ value: i })));
    const c1 = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 6 });
    const started: number[] = [];
    let finished = 0;
    const running = c1.run(
      async (d) => {
        started.push(d.value);
        await sleep(setup.clock, 1000);
        finished++;
      },
      { concurrency: 2 },
    );
    await runClock(setup.clock, () => started.length === 2, 100);
    let runDone = false;
    void running.then(() => (runDone = true));
    const closing = c1.close(); // a deploy: SIGTERM while two handlers run
    await runClock(setup.clock, () => false, 500);
    expect(runDone).toBe(false);
    await runClock(setup.clock, () => finished === 2, 1000);
    await closing;
    await running;
    expect(started).toHaveLength(2); // nothing new started once closing
    const c2 = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 6 });
    const rest: [number, number][] = [];
    const draining = c2.run((d) => void rest.push([d.value, d.attempt]));
    await runClock(setup.clock, () => rest.length >= 4, 500);
    await runClock(setup.clock, () => false, 200);
    await c2.close();
    await draining;
    // The two handled ones were acked during the close (never again); the others come back at attempt 1.
    expect(rest.map(([v]) => v).sort()).toEqual([0, 1, 2, 3, 4, 5].filter((v) => !started.includes(v)));
    expect(rest.every(([, attempt]) => attempt === 1)).toBe(true);
    await ferry.close({ timeoutMs: 0 });
  });

  // Before, a run() handler waited for its ack's fsync before it took the next delivery: with
  // concurrency 1 a consumer did one message per fsync.
  it('run() hands a handler its next delivery while the last ack still waits for its fsync, and resolves once the acks are durable', async () => {
    const { setup, ferry } = await slowDiskWith(23, 5);
    const consumer = ferry.consumer<number>('g', { topics: ['t'] });
    const seen: number[] = [];
    const running = consumer.run((d) => void seen.push(d.value));
    let ran = false;
    void running.then(() => (ran = true));
    await flush(40); // the clock stands still: no fsync completes
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const closing = consumer.close({ timeoutMs: 1000 });
    await flush(10);
    expect(ran).toBe(false); // the acks are not durable yet
    await runClock(setup.clock, () => ran, 2000);
    await closing;
    await running;
    const again = ferry.consumer<number>('g', { topics: ['t'], pollWaitMs: 10 });
    const next = pendingNext(again);
    await runClock(setup.clock, () => false, 100);
    expect(next.value).toBeUndefined(); // all five acks were applied: nothing comes back
    await again.close({ timeoutMs: 0 });
    await ferry.close();
  });

  // As a broker's prefetch: an ack frees its slot when it is given, not when its fsync completes
  // (the slot waited for the disk before, so a window of 1,000 drained at 1,000 per fsync); acks
  // still waiting for the disk are bounded by four windows, so a slow disk holds the consumer back
  // (one window tied the rate to maxInFlight per fsync round trip: 31k msg/s at maxInFlight 64).
  it('frees a slot when an ack is given, and stops fetching once four windows of acks wait for the disk', async () => {
    const { setup, ferry } = await slowDiskWith(29, 40);
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 4 });
    const seen: number[] = [];
    const acks: Promise<void>[] = [];
    const loop = (async () => {
      for await (const d of consumer) {
        seen.push(d.value);
        acks.push(d.ack());
      }
    })();
    await flush(40); // the clock stands still: no ack is durable
    expect(seen.length).toBeGreaterThan(8); // acked slots were reused, past one window of acks waiting
    expect(seen.length).toBeLessThanOrEqual(20); // at most four windows of acks wait for the disk
    await runClock(setup.clock, () => seen.length === 40, 5000);
    expect(seen).toEqual([...Array(40).keys()]);
    await consumer.close({ timeoutMs: 0 });
    await runClock(setup.clock, () => false, 100);
    await Promise.all(acks);
    await loop;
    await ferry.close();
  });

  it('refuses a second run() on a consumer whose first run() has not resolved (ALREADY_RUNNING), and the first goes on (new-user trial: run() twice was accepted)', async () => {
    const setup = memoryFerry(23);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    const c = ferry.consumer<number>('g', { topics: ['t'] });
    const handled: number[] = [];
    const first = c.run((d) => void handled.push(d.value));
    await expect(c.run(() => {})).rejects.toMatchObject({ code: 'ALREADY_RUNNING', name: 'AlreadyRunningError', message: expect.stringContaining('{ concurrency: n }') });
    await expect(c.run(() => {}, { concurrency: 4 })).rejects.toBeInstanceOf(AlreadyRunningError);
    await ferry.producer().publishMany('t', [{ value: 1 }, { value: 2 }]);
    await runClock(setup.clock, () => handled.length === 2, 500);
    expect(handled).toEqual([1, 2]);
    await c.close();
    await first;
    // Another consumer of the group runs a loop of its own.
    const other = ferry.consumer<number>('g', { topics: ['t'] });
    const second = other.run(() => {});
    await other.close();
    await second;
    await ferry.close({ timeoutMs: 0 });
  });

  it('close({ timeoutMs }) returns at its deadline and hands a slow handler\'s message back uncharged', async () => {
    const setup = memoryFerry(23);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 60_000 });
    await ferry.producer().publish('t', { value: 'slow' });
    const c1 = ferry.consumer('g', { topics: ['t'] });
    let began = false;
    const running = c1.run(async () => {
      began = true;
      await sleep(setup.clock, 10_000);
    });
    await runClock(setup.clock, () => began, 100);
    let closed = false;
    const closing = c1.close({ timeoutMs: 200 }).then(() => (closed = true));
    await runClock(setup.clock, () => closed, 300);
    expect(closed).toBe(true);
    await closing;
    const c2 = ferry.consumer('g', { topics: ['t'] });
    const again = (await c2.next())!;
    expect(again).toMatchObject({ value: 'slow', attempt: 1 });
    await again.ack();
    await runClock(setup.clock, () => false, 10_000); // the slow handler ends; its ack is refused, quietly
    await running;
    await ferry.close({ timeoutMs: 0 });
  });

  it('leaving a for await loop closes the consumer and hands back what it held', async () => {
    const setup = memoryFerry(24);
    const ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [{ value: 1 }, { value: 2 }, { value: 3 }]);
    const c1 = ferry.consumer<number>('g', { topics: ['t'] });
    for await (const d of c1) {
      await d.ack();
      break; // after one
    }
    expect(await c1.next()).toBeUndefined();
    const c2 = ferry.consumer<number>('g', { topics: ['t'] });
    const got = [(await c2.next())!, (await c2.next())!];
    expect(got.map((d) => [d.value, d.attempt])).toEqual([
      [2, 1],
      [3, 1],
    ]);
    await ferry.close({ timeoutMs: 0 });
  });

  it('nack({ deadLetter: true }) dead-letters at once, whatever the attempt count', async () => {
    const setup = memoryFerry(25);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 10 });
    await ferry.producer().publish('t', { value: 'poison' });
    const consumer = ferry.consumer('g', { topics: ['t'] });
    await (await consumer.next())!.nack({ deadLetter: true, error: new Error('cannot ever work') });
    const dead = await letters(ferry, 't', 1, setup.clock);
    expect(dead.get('poison')).toBe(1);
    await ferry.close({ timeoutMs: 0 });
  });

  // Before, a delivery never settled held its slot for good: with every tenth message dropped,
  // the consumer wedged once the dropped ones filled maxInFlight.
  it('a delivery whose lease ran out frees its slot, and the message comes again after ackTimeoutMs', async () => {
    const setup = memoryFerry(26);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000, maxDeliveries: 100 });
    await ferry.producer().publishMany('t', Array.from({ length: 200 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 10 });
    const acked = new Set<number>();
    const firstSeen = new Map<number, number>();
    const redeliveredAfter: number[] = [];
    for (let i = 0; acked.size < 200 && i < 5000; i++) {
      const pending = consumer.next();
      await runClock(setup.clock, () => false, 0);
      let d: Awaited<typeof pending>;
      for (let waited = 0; ; waited += 10) {
        const settled = await Promise.race([pending, flush(4).then(() => 'waiting' as const)]);
        if (settled !== 'waiting') {
          d = settled;
          break;
        }
        setup.clock.advance(10);
      }
      if (!d) break;
      if (d.attempt === 1 && d.value % 10 === 0) {
        firstSeen.set(d.value, setup.clock.now()); // dropped: never acked
        continue;
      }
      if (d.attempt > 1) redeliveredAfter.push(setup.clock.now() - firstSeen.get(d.value)!);
      await d.ack();
      acked.add(d.value);
    }
    expect(acked.size).toBe(200);
    expect(redeliveredAfter).toHaveLength(20);
    expect(Math.min(...redeliveredAfter)).toBeGreaterThanOrEqual(1000);
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('forgotten deliveries holding every slot', () => {
  it('come back when their lease runs out, not a sweep beat later (issue 11: 1.20 s for a 1 s lease)', async () => {
    const setup = memoryFerry(27);
    const ferry = await setup.open();
    await ferry.createTopic('t', { ackTimeoutMs: 1000, maxDeliveries: 100 });
    await ferry.producer().publishMany('t', Array.from({ length: 12 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['t'], maxInFlight: 4 });
    const firstSeen = new Map<number, number>();
    const back: number[] = [];
    const reading = consumer.run(async (d) => {
      if (d.value < 4) {
        await sleep(setup.clock, 130); // the first four are slow, so the others are handed out off the sweep's beat
        return d.ack();
      }
      if (d.attempt === 1) {
        firstSeen.set(d.value, setup.clock.monotonicNow()); // dropped: holds its slot until its lease runs out
        await new Promise<void>(() => {});
      }
      back.push(setup.clock.monotonicNow() - firstSeen.get(d.value)!);
      await d.ack();
    }, { concurrency: 100 });
    await runClock(setup.clock, () => back.length === 8, 10_000, 5);
    expect(back).toHaveLength(8);
    expect(Math.min(...back)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...back)).toBeLessThanOrEqual(1040);
    await consumer.close({ timeoutMs: 0 });
    void reading.catch(() => {});
    await ferry.close({ timeoutMs: 0 });
  });
});

describe('a consumer does not give up on its own', () => {
  it('survives a long burst of retriable fetch failures, reports each, and delivers once they stop', async () => {
    const clock = new ManualClock(0);
    let failing = 100;
    let delivered = false;
    const faults: string[] = [];
    const runtime = {
      call: async (command: PartitionCommand) => {
        if (command.op === 'fetch') {
          if (failing-- > 0) throw new FerryError('OVERLOADED', 'busy', true);
          if (delivered) await new Promise(() => {});
          delivered = true;
          return [];
        }
        return command.op === 'settle' ? command.items.map(() => null) : null;
      },
    } as unknown as PartitionRuntime;
    const consumer = new Consumer({ runtime, clock, random: new SeededRandom(1), topic: () => resolveTopicOptions('t') }, 'g', { topics: ['t'] });
    consumer.onFault((f) => faults.push(f.error.code));
    let failure: unknown;
    void consumer.next().catch((e: unknown) => (failure = e));
    for (let i = 0; i < 1000 && !delivered; i++) {
      await flush(2);
      clock.advance(1000);
    }
    expect(failure).toBeUndefined();
    expect(delivered).toBe(true);
    expect(faults).toHaveLength(100);
    await consumer.close({ timeoutMs: 0 });
  });

  it('tells onFault (during: settle) when run() could not apply a handler\'s outcome because the handler outlived its lease (a new user saw work redone in silence)', async () => {
    const setup = memoryFerry(41);
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 1000 });
    await ferry.producer().publish('jobs', { value: 'slow' });
    const consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 1 });
    const faults: string[] = [];
    consumer.onFault((f) => faults.push(`${f.during} ${f.error.code} ${f.topic}[${f.partition}]@${f.offset} attempt ${f.attempt}`));
    let handled = 0;
    const running = consumer.run(async () => {
      if (handled++ === 0) await sleep(setup.clock, 1500); // past its 1 s lease, no extend()
    });
    await runClock(setup.clock, () => faults.length > 0, 3000);
    expect(faults).toEqual(['settle STALE_DELIVERY jobs[0]@0 attempt 1']); // before: nothing at all; then no offset or attempt (a new-user trial)
    await consumer.close({ timeoutMs: 0 });
    await running;
    await ferry.close({ timeoutMs: 0 });
  });

  it('dead-letters a message that does not decode, with the reason, and goes on', async () => {
    const fs = new MemoryFileSystem({ random: new SeededRandom(5) });
    const clock = new ManualClock(1_700_000_000_000);
    const limits = { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 1000, maxGroups: 10 };
    const runtime = new LocalRuntime({ dir: '/r', fs, clock, random: new SeededRandom(6), fsync: 'always', fsyncIntervalMs: 0, segmentBytes: 1 << 20, maxMessageBytes: 1 << 16, limits });
    const options = { t: resolveTopicOptions('t', { maxDeliveries: 5 }), 't.dlq': resolveTopicOptions('t.dlq', { deadLetter: false }) };
    await runtime.openTopic('t.dlq', options['t.dlq']);
    await runtime.openTopic('t', options.t);
    // Plain meta, then 0xc1: a byte msgpack never uses.
    const garbage = Uint8Array.of(4, 0, 0x93, 0xc0, 0xc0, 0x00, 0xc1);
    await runtime.call({ op: 'publish', topic: 't', partition: 0, request: { payload: frameMessages([garbage]), count: 1 } });
    const host = { runtime, clock, random: new SeededRandom(1), topic: (name: string) => options[name as keyof typeof options] };
    const consumer = new Consumer(host, 'g', { topics: ['t'], pollWaitMs: 10 });
    const next = consumer.next();
    const letters = new Consumer(host, 'ops', { topics: ['t.dlq'], pollWaitMs: 10 });
    let letter: Awaited<ReturnType<typeof letters.next>>;
    void letters.next().then((d) => (letter = d));
    for (let i = 0; i < 100 && !letter; i++) {
      clock.advance(10);
      await flush(4);
    }
    expect(letter!.deadLetter).toMatchObject({ topic: 't', offset: 0, attempts: 1 });
    expect(letter!.deadLetter!.lastError).toMatch(/^could not decode the message/);
    let pendingDone = false;
    void next.then(() => (pendingDone = true));
    await flush();
    expect(pendingDone).toBe(false); // the consumer is still waiting for messages, not failed
    await consumer.close({ timeoutMs: 0 });
    await letters.close({ timeoutMs: 0 });
    await runtime.close();
  });
});
