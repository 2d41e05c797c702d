// Worked example of `ferry/testing` (docs/TESTING.md): a ledger applying each account's entries in
// sequence. Its handler fails now and then (a busy database), and a failed entry is retried after
// a backoff. The naive consumer (no key ordering, 4 handlers) lets later entries of an account
// overtake the one being retried; the fixed one asks for `ordering: 'key'` and skips entries it
// already applied (a producer's retry stores an entry twice).
import type { Delivery } from '../../index.ts';
import { expectHandledAtLeastOnce, expectKeyOrder, InvariantViolatedError, type SimulatedStore, type Simulation } from '../../props/testing/index.ts';

export interface Entry {
  readonly account: string;
  readonly seq: number;
  readonly cents: number;
}

const ACCOUNTS = 3;
const ENTRIES = 6;

type Setup = { readonly ordering: 'key' | 'none'; readonly handler: (sim: Simulation, ledger: SimulatedStore<number[]>) => (d: Delivery<Entry>) => Promise<void> };

/** Fails one call in five, as a busy database would. */
function flaky(sim: Simulation): void {
  if (sim.random.chance(0.2)) throw new Error('database busy');
}

/** The bug: applies whatever comes, in whatever order it comes. */
export const naive: Setup = {
  ordering: 'none',
  handler: (sim, ledger) => async (d) => {
    flaky(sim);
    await ledger.transaction((tx) => tx.set(d.value.account, [...(tx.get(d.value.account) ?? []), d.value.seq]));
  },
};

/** The fix: one entry per account in flight, and an entry already applied is skipped. */
export const keyOrdered: Setup = {
  ordering: 'key',
  handler: (sim, ledger) => async (d) => {
    flaky(sim);
    await ledger.transaction((tx) => {
      const applied = tx.get(d.value.account) ?? [];
      if (applied.length >= d.value.seq) return; // a duplicate of an applied entry
      tx.set(d.value.account, [...applied, d.value.seq]);
    });
  },
};

/** Each account's entries 1..6, applied in order, each once. */
export function ledger(setup: Setup) {
  return async function ledgerWorkload(sim: Simulation): Promise<void> {
    const book = sim.store<number[]>('ledger');
    await sim.ferry.createTopic('ledger', { partitions: 2, ackTimeoutMs: 1000, maxDeliveries: 100, backoff: { kind: 'fixed', delayMs: 200 } });
    sim.process((ferry) => ferry.consumer<Entry>('books', { topics: ['ledger'], ordering: setup.ordering }).run(setup.handler(sim, book), { concurrency: 4 }));
    for (let seq = 1; seq <= ENTRIES; seq++) {
      await Promise.all(Array.from({ length: ACCOUNTS }, (_, a) => sim.publish('ledger', { value: { account: `acct-${a}`, seq, cents: 100 }, key: `acct-${a}` })));
    }
    await sim.settle();
    expectHandledAtLeastOnce(sim.history, { group: 'books' });
    expectKeyOrder(sim.history, { group: 'books' });
    const wrong = book.entries().filter(([, seqs]) => seqs.join() !== Array.from({ length: ENTRIES }, (_, i) => i + 1).join());
    if (wrong.length > 0) throw new InvariantViolatedError('each account applied 1..6 in order', wrong.map(([account, seqs]) => `${account} applied ${seqs.join(', ')}`));
  };
}
