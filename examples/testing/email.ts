// Worked example of `ferry/testing` (docs/TESTING.md): an email sender whose provider call is
// slower than the topic's lease. The naive handler lets the lease run out mid-call: the message
// is handed out again while the first send is still going, every attempt times out the same way,
// and the message is dead-lettered although nothing failed, after several emails went out. The
// fixed one extends its lease to cover the call and records what it sent, so a redelivery (a lost
// ack) does not send again.
import type { Delivery } from '../../index.ts';
import { expectEffectsExactlyOnce, expectHandledAtLeastOnce, expectNoDeadLetterWithoutFailure, type SimulatedStore, type Simulation } from '../../props/testing/index.ts';

export interface Email {
  readonly id: string;
  readonly to: string;
}

/** The provider's call takes 1.5 s; the topic's lease is 1 s. */
export const PROVIDER_MS = 1500;
const LEASE_MS = 1000;

type Handler = (sim: Simulation, sent: SimulatedStore<number>) => (d: Delivery<Email>) => Promise<void>;

/** The bug: a call longer than the lease, without extending it. */
export const sendNaively: Handler = (sim) => async (d) => {
  await sim.sleep(PROVIDER_MS);
  sim.effect('email', d.value.id);
};

/** The fix: the lease covers the call, and a sent email is recorded (a redelivery skips it). */
export const sendOnce: Handler = (sim, sent) => async (d) => {
  if (sent.has(d.value.id)) return;
  await d.extend(PROVIDER_MS + LEASE_MS);
  await sim.sleep(PROVIDER_MS);
  sim.effect('email', d.value.id);
  await sent.transaction((tx) => tx.set(d.value.id, 1));
};

/** 8 emails, 2 handlers; each email sent once, none dead-lettered. */
export function emails(handler: Handler) {
  return async function emailWorkload(sim: Simulation): Promise<void> {
    const sent = sim.store<number>('sent-emails');
    await sim.ferry.createTopic('emails', { ackTimeoutMs: LEASE_MS, maxDeliveries: 3 });
    sim.process((ferry) => ferry.consumer<Email>('mailer', { topics: ['emails'] }).run(handler(sim, sent), { concurrency: 2 }));
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const email: Email = { id: `mail-${i}`, to: `user${i}@example.com` };
      ids.push(email.id);
      // The id lets the topic's dedupe window drop a producer's retried copy.
      await sim.publish('emails', { value: email, id: email.id });
    }
    await sim.settle();
    expectHandledAtLeastOnce(sim.history, { group: 'mailer' });
    expectNoDeadLetterWithoutFailure(sim.history, { group: 'mailer' });
    expectEffectsExactlyOnce(sim.history, { effect: 'email', keys: ids });
  };
}
