// Crash property of the engine (in-thread runtime) on the in-memory fault disk: random publishes,
// acks, nacks, clock jumps and crashes (process or power); then, with faults off, a drain. Checks
// that every confirmed message reaches the group, that a confirmed ack is never undone, and that
// nothing unpublished is delivered. Replay a failure with the FC_SEED/FC_PATH it prints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consumer, Delivery } from '../core/consumer.ts';
import type { Ferry } from '../core/ferry.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import { propertySettings } from './fast-check-settings.ts';

type Op =
  | { kind: 'publish'; count: number; keyed: boolean }
  | { kind: 'consume'; outcome: 'ack' | 'nack' | 'hold' }
  | { kind: 'advance'; ms: number }
  | { kind: 'crash'; type: 'process' | 'power' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 4 }), keyed: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('consume' as const), outcome: fc.constantFrom('ack' as const, 'ack' as const, 'nack' as const, 'hold' as const) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(10, 500, 5000) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const), type: fc.constantFrom('process' as const, 'power' as const) }), weight: 1 },
);

const scenarioArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  fsync: fc.constantFrom('always' as const, 'interval' as const),
  ordering: fc.constantFrom('none' as const, 'key' as const),
  /** Small values make replay start from checkpoints (and retention run) during the run. */
  checkpointEvery: fc.constantFrom(3, 8, 10_000),
  /** 64: every checkpoint spans many records, and a crash may leave a part of one. */
  checkpointPartBytes: fc.constantFrom(64, 1024 * 1024),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
});

interface Run {
  ferry: Ferry;
  consumer: Consumer<number>;
  /** The one outstanding next() of this run's consumer, if it has not resolved yet. */
  waiting: Promise<Delivery<number> | undefined> | undefined;
  held: Delivery<number>[];
}

describe('engine under crashes (property)', () => {
  it('delivers every confirmed message and never undoes a confirmed ack', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const setup = memoryFerry(s.seed, { fsync: s.fsync, limits: { checkpointEveryRecords: s.checkpointEvery, checkpointPartBytes: s.checkpointPartBytes } });
        const published = new Set<number>();
        const confirmed = new Set<number>();
        const ackedAt = new Map<number, number>(); // value -> delivery count when its ack was confirmed
        const deliveries = new Map<number, number>();
        let nextValue = 0;

        const start = async (): Promise<Run> => {
          const ferry = await setup.open();
          await ferry.createTopic('t', { partitions: s.partitions, maxDeliveries: 1000, ackTimeoutMs: 2000, backoff: { kind: 'fixed', delayMs: 100 } });
          return { ferry, consumer: ferry.consumer<number>('g', { topics: ['t'], ordering: s.ordering, maxInFlight: 8 }), waiting: undefined, held: [] };
        };
        /** The next delivery if one arrives while promises settle; undefined otherwise. */
        const poll = async (run: Run): Promise<Delivery<number> | undefined> => {
          let got: Delivery<number> | undefined;
          let done = false;
          run.waiting ??= run.consumer.next();
          void run.waiting.then((d) => {
            got = d;
            done = true;
          }, () => (done = true));
          await flush();
          if (!done) return undefined;
          run.waiting = undefined;
          if (got) {
            expect(published.has(got.value)).toBe(true); // nothing unexpected
            const before = ackedAt.get(got.value);
            expect(before, `value ${got.value} delivered again after its ack was confirmed`).toBeUndefined();
            deliveries.set(got.value, (deliveries.get(got.value) ?? 0) + 1);
          }
          return got;
        };
        const settleDelivery = async (d: Delivery<number>, outcome: 'ack' | 'nack'): Promise<void> => {
          try {
            if (outcome === 'ack') {
              await d.ack();
              ackedAt.set(d.value, deliveries.get(d.value)!);
            } else await d.nack({ error: 'test' });
          } catch {
            // a stale lease or a crashed engine: the message will come again
          }
        };

        let run = await start();
        for (const op of s.ops) {
          if (op.kind === 'publish') {
            const producer = run.ferry.producer();
            const values = Array.from({ length: op.count }, () => nextValue++);
            for (const v of values) published.add(v);
            producer.publishMany('t', values.map((value) => ({ value, ...(op.keyed ? { key: `k${value % 3}` } : {}) }))).then(
              () => values.forEach((v) => confirmed.add(v)),
              () => {},
            );
            await flush();
          } else if (op.kind === 'consume') {
            const d = await poll(run);
            if (d && op.outcome === 'hold') run.held.push(d);
            else if (d && op.outcome !== 'hold') await settleDelivery(d, op.outcome);
          } else if (op.kind === 'advance') {
            setup.clock.advance(op.ms);
            await flush();
          } else {
            setup.fs.crash(op.type); // the old engine is abandoned, not closed
            run = await start();
          }
        }

        // Liveness phase: no more faults; drain until every confirmed message was acked.
        for (let round = 0; round < 400 && [...confirmed].some((v) => !ackedAt.has(v)); round++) {
          const d = await poll(run);
          if (d) await settleDelivery(d, 'ack');
          else {
            for (const h of run.held.splice(0)) await settleDelivery(h, 'ack');
            setup.clock.advance(1000);
          }
        }
        const missing = [...confirmed].filter((v) => !ackedAt.has(v));
        expect(missing, `confirmed but never delivered and acked: ${missing.join(', ')}`).toEqual([]);
        await run.ferry.close({ timeoutMs: 0 });
      }),
      propertySettings(300),
    );
  });
});
