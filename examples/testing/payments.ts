// Worked example of `ferry/testing` (docs/TESTING.md): a payment handler. The naive one charges on
// every delivery, so a redelivery (a crash after the charge, before the ack reached the log; a
// lost ack; a lease that ran out) charges twice. The fixed one dedupes by payment id in the same
// transaction as the charge: a transactional inbox on the receiver's side.
import type { Delivery } from '../../index.ts';
import { expectEffectsExactlyOnce, expectHandledAtLeastOnce, type SimulatedStore, type Simulation } from '../../props/testing/index.ts';

export interface Payment {
  readonly id: string;
  readonly account: string;
  readonly cents: number;
}

type Handler = (db: SimulatedStore<number>) => (d: Delivery<Payment>) => Promise<void>;

/** The bug: every delivery charges. */
export const chargeNaively: Handler = (db) => async (d) => {
  const p = d.value;
  await db.transaction((tx) => {
    tx.set(`balance:${p.account}`, (tx.get(`balance:${p.account}`) ?? 0) - p.cents);
    tx.effect('charge', p.id);
  });
};

/** The fix: the charge and the record that this payment was charged commit together, once. */
export const chargeOnce: Handler = (db) => async (d) => {
  const p = d.value;
  await db.transaction((tx) => {
    if (tx.has(`charged:${p.id}`)) return; // a redelivery: already charged
    tx.set(`charged:${p.id}`, 1);
    tx.set(`balance:${p.account}`, (tx.get(`balance:${p.account}`) ?? 0) - p.cents);
    tx.effect('charge', p.id);
  });
};

/** 20 payments over 4 accounts, handled 4 at a time; every payment charged exactly once. */
export function payments(handler: Handler) {
  return async function paymentsWorkload(sim: Simulation): Promise<void> {
    const db = sim.store<number>('billing-db');
    await sim.ferry.createTopic('payments', { partitions: 2, ackTimeoutMs: 1000, maxDeliveries: 20 });
    sim.process((ferry) => ferry.consumer<Payment>('billing', { topics: ['payments'] }).run(handler(db), { concurrency: 4 }));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const payment: Payment = { id: `pay-${i}`, account: `acct-${i % 4}`, cents: 100 + i };
      ids.push(payment.id);
      await sim.publish('payments', { value: payment, key: payment.account });
      await sim.sleep(sim.random.int(100));
    }
    await sim.settle();
    expectHandledAtLeastOnce(sim.history, { group: 'billing' });
    expectEffectsExactlyOnce(sim.history, { effect: 'charge', keys: ids });
  };
}
