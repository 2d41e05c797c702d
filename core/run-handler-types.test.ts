// run()'s `tx` is typed as what it is (a new-user trial: it was typed `Transaction` and was
// `undefined` without exactlyOnce). The type checks are checked by `tsc --noEmit -p .` (npm test
// runs it first): an `expectTypeOf` that does not hold, or a `@ts-expect-error` line that compiles,
// fails the type check; the handlers also run, to show the types match what they are handed.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Consumer } from './consumer.ts';
import type { Delivery } from './delivery.ts';
import type { Transaction } from './transaction.ts';
import type { NatsConsumer } from '../backends/nats/types.ts';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

describe("run()'s transaction argument", () => {
  it('is undefined, and typed undefined, without exactlyOnce; a Transaction, typed so, with exactlyOnce: true', async () => {
    const setup = memoryFerry(7);
    const ferry = await setup.open();
    await ferry.createTopic('in');
    await ferry.createTopic('out');
    await ferry.producer().publishMany('in', [{ value: 1 }, { value: 2 }]);
    const seen: unknown[] = [];

    const plain = ferry.consumer<number>('plain', { topics: ['in'] });
    const plainRun = plain.run(async (d, tx) => {
      expectTypeOf(d).toEqualTypeOf<Delivery<number>>();
      expectTypeOf(tx).toEqualTypeOf<undefined>();
      seen.push(tx);
    }, { concurrency: 2 });

    const once = ferry.consumer<number>('once', { topics: ['in'] });
    const onceRun = once.run(async (d, tx) => {
      expectTypeOf(tx).toEqualTypeOf<Transaction>(); // no `tx!` needed
      await tx.publish('out', { value: d.value * 10 });
      seen.push(typeof tx.publish);
    }, { exactlyOnce: true });

    for (let i = 0; i < 50 && seen.length < 4; i++) await flush(4);
    await ferry.close({ timeoutMs: 0 });
    await Promise.all([plainRun, onceRun]);
    expect(seen.filter((t) => t === undefined)).toHaveLength(2);
    expect(seen.filter((t) => t === 'function')).toHaveLength(2);
  });

  it('refuses at compile time a handler that needs a transaction in a run without exactlyOnce (types only: nothing runs)', () => {
    const checks = (consumer: Consumer<string>, nats: NatsConsumer<string>): void => {
      const needsTx = async (_d: Delivery<string>, tx: Transaction): Promise<void> => {
        await tx.publish('out', { value: 1 });
      };
      // @ts-expect-error a handler that needs `tx` without exactlyOnce: it would get undefined
      void consumer.run(needsTx);
      // @ts-expect-error the same with other options
      void consumer.run(needsTx, { concurrency: 2 });
      // @ts-expect-error exactlyOnce: false has no transaction either
      void consumer.run(needsTx, { exactlyOnce: false });
      void consumer.run(needsTx, { exactlyOnce: true });
      // exactlyOnce known only at run time: `tx` may be either, so the handler must check it.
      const flag: boolean = Math.random() > 2;
      void consumer.run(async (_d, tx) => {
        expectTypeOf(tx).toEqualTypeOf<Transaction | undefined>();
      }, { exactlyOnce: flag });
      // @ts-expect-error NATS has no transactions: exactlyOnce is refused at compile time too
      void nats.run(async () => {}, { exactlyOnce: true });
      void nats.run(async (_d, tx) => {
        expectTypeOf(tx).toEqualTypeOf<undefined>();
      });
    };
    expect(typeof checks).toBe('function'); // the checks are tsc's; this test only has to load
  });
});
