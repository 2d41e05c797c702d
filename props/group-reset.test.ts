// Reset property (issue 12 §Replay): random publishes, consumers that ack, group resets (to the
// earliest or latest message, an offset, a time) and crashes, then a drain. After a reset the
// group gets exactly the messages from the point on; no acked message returns unless a reset asked
// for it; a crash during a reset leaves each partition at the old position or the new one, never a
// mix. In-thread, on the memory fault disk and the manual clock. Replay a failure with the
// FC_SEED/FC_PATH it prints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GroupPosition } from '../core/group-position.ts';
import type { Ferry } from '../core/ferry.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';
import { propertySettings } from './fast-check-settings.ts';

type Target = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; at: number } | { kind: 'time'; nth: number };
type Op =
  | { kind: 'publish'; count: number }
  | { kind: 'consume'; max: number }
  | { kind: 'reset'; to: Target }
  | { kind: 'crash'; type: 'process' | 'power' };

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  fc.constant({ kind: 'earliest' as const }),
  fc.constant({ kind: 'latest' as const }),
  fc.record({ kind: fc.constant('offset' as const), at: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('time' as const), nth: fc.integer({ min: 0, max: 20 }) }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 4 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('consume' as const), max: fc.integer({ min: 1, max: 6 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('reset' as const), to: targetArb }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('crash' as const), type: fc.constantFrom('process' as const, 'power' as const) }), weight: 1 },
);
const scenarioArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  partitions: fc.integer({ min: 1, max: 2 }),
  fsync: fc.constantFrom('always' as const, 'interval' as const),
  checkpointEvery: fc.constantFrom(3, 10_000),
  ops: fc.array(opArb, { minLength: 1, maxLength: 25 }),
  /** A last reset that a power loss interrupts: each partition must end at the old or the new position. */
  interrupted: fc.option(fc.record({ to: targetArb, flushes: fc.integer({ min: 0, max: 3 }) }), { nil: undefined }),
});

interface Stored {
  readonly value: number;
  readonly partition: number;
  readonly offset: number;
  readonly at: number;
}

describe('group reset (property)', () => {
  it('delivers exactly the messages from the reset point on, never an acked one otherwise, and a crash leaves the old or the new position', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const setup = memoryFerry(s.seed, { fsync: s.fsync, limits: { checkpointEveryRecords: s.checkpointEvery } });
        const stored: Stored[] = [];
        const settled = new Set<number>(); // the model: values the group has settled (acked, or before its position)
        let next = 0;
        const open = async (): Promise<Ferry> => {
          const ferry = await setup.open();
          await ferry.createTopic('t', { partitions: s.partitions });
          return ferry;
        };
        let ferry = await open();
        /** A position as the engine is told it, and the model's reading of it per partition. */
        const position = (to: Target): { engine: GroupPosition; cut: (p: number) => number } => {
          const onPartition = (p: number) => stored.filter((m) => m.partition === p);
          switch (to.kind) {
            case 'earliest':
              return { engine: 'earliest', cut: () => 0 };
            case 'latest':
              return { engine: 'latest', cut: (p) => Math.max(0, ...onPartition(p).map((m) => m.offset + 1)) };
            case 'offset':
              return { engine: { offset: to.at }, cut: () => to.at };
            case 'time': {
              const time = stored[to.nth % Math.max(1, stored.length)]?.at ?? setup.clock.now();
              return { engine: { time }, cut: (p) => Math.min(...onPartition(p).filter((m) => m.at >= time).map((m) => m.offset), Number.POSITIVE_INFINITY) };
            }
          }
        };
        /** The model after a reset: on each partition, everything below the cut is settled, everything from it on is not. */
        const afterReset = (cut: (p: number) => number, before: ReadonlySet<number>): Set<number> => {
          const after = new Set(before);
          for (const m of stored) {
            if (m.offset < cut(m.partition)) after.add(m.value);
            else after.delete(m.value);
          }
          return after;
        };
        /** Takes and acks what arrives (up to `max`), then closes the consumer; `strict`: nothing settled may come. */
        const consume = async (max: number, strict = true): Promise<number[]> => {
          const c = ferry.consumer<number>('g', { topics: ['t'] });
          const got: number[] = [];
          for (let i = 0; i < max; i++) {
            const d = pendingNext(c);
            await flush();
            if (!d.value) break;
            if (strict) expect(settled.has(d.value.value), `value ${d.value.value} came again though the group settled it and no reset asked for it`).toBe(false);
            await d.value.ack();
            settled.add(d.value.value);
            got.push(d.value.value);
          }
          await c.close({ timeoutMs: 0 });
          return got;
        };

        for (const op of s.ops) {
          if (op.kind === 'publish') {
            const results = await ferry.producer().publishMany('t', Array.from({ length: op.count }, () => ({ value: next, key: `k${next++}` })));
            results.forEach((r, i) => stored.push({ value: next - op.count + i, partition: r.partition, offset: r.offset, at: setup.clock.now() }));
            setup.clock.advance(10); // publish times tell batches apart, for resets to a time
          } else if (op.kind === 'consume') {
            await consume(op.max);
          } else if (op.kind === 'reset') {
            const { engine, cut } = position(op.to);
            await ferry.resetGroup('g', 't', { to: engine }).catch((error: { code?: string }) => {
              if (error.code !== 'UNKNOWN_GROUP') throw error; // no consumer joined yet: nothing to reset
            });
            const joined = (await ferry.describe()).groups.some((g) => g.name === 'g');
            if (joined) {
              const after = afterReset(cut, settled);
              settled.clear();
              for (const v of after) settled.add(v);
            }
          } else {
            setup.fs.crash(op.type);
            ferry = await open();
          }
        }
        let options: readonly Set<number>[] = [new Set(settled)]; // a copy: the drain adds to `settled`
        if (s.interrupted) {
          const joined = (await ferry.describe()).groups.some((g) => g.name === 'g');
          const { engine, cut } = position(s.interrupted.to);
          void ferry.resetGroup('g', 't', { to: engine }).catch(() => {});
          await flush(s.interrupted.flushes);
          setup.fs.crash('power');
          ferry = await open();
          if (joined) {
            // Per partition, old or new: every combination of the partitions is allowed, nothing else.
            const after = afterReset(cut, settled);
            const partitions = Array.from({ length: s.partitions }, (_, p) => p);
            options = Array.from({ length: 2 ** s.partitions }, (_, mask) => {
              const pick = new Set<number>();
              for (const m of stored) if ((partitions.includes(m.partition) && mask & (1 << m.partition) ? after : settled).has(m.value)) pick.add(m.value);
              return pick;
            });
          }
        }
        // The drain is judged against every allowed outcome at once (an interrupted reset may have happened or not).
        const drained = new Set(await consume(stored.length + 1, s.interrupted === undefined));
        const expected = options.map((o) => new Set(stored.map((m) => m.value).filter((v) => !o.has(v))));
        expect(expected.map((e) => [...e].sort((a, b) => a - b)), `drained ${[...drained].sort((a, b) => a - b).join(',')}`).toContainEqual([...drained].sort((a, b) => a - b));
        await ferry.close({ timeoutMs: 0 });
      }),
      propertySettings(40),
    );
  }, 300_000);
});
