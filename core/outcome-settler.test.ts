// How run() applies outcomes without a promise per message: a retriable failure is tried again
// (with backoff) while the lease lasts, a lost lease is reported, anything else is fatal, and
// idle() waits for every answer, retries included.
import { describe, expect, it } from 'vitest';
import { FerryError } from '../wal/index.ts';
import type { Delivery } from './delivery.ts';
import { StaleDeliveryError } from './errors.ts';
import { OutcomeSettler } from './outcome-settler.ts';

/** A delivery whose settles answer, in turn, with `answers` (null: applied), then applied. */
function scripted(answers: (FerryError | null)[], deadline = Number.POSITIVE_INFINITY): Delivery & { calls: string[]; deadline: number } {
  const calls: string[] = [];
  const answer = (what: string) => {
    calls.push(what);
    const next = answers.shift() ?? null;
    return next ? Promise.reject(next) : Promise.resolve();
  };
  return { topic: 't', partition: 0, offset: 7, calls, deadline, ack: () => answer('ack'), nack: (o?: { error?: unknown }) => answer(`nack ${String(o?.error)}`) } as unknown as Delivery & { calls: string[]; deadline: number };
}

function host(now = () => 0) {
  const events: string[] = [];
  const sleeps: number[] = [];
  return {
    events,
    sleeps,
    host: {
      sleep: async (ms: number) => void sleeps.push(ms),
      now,
      lost: (error: unknown) => void events.push(`lost ${(error as FerryError).code}`),
      fatal: (error: unknown) => void events.push(`fatal ${(error as FerryError).code}`),
    },
  };
}

const busy = () => new FerryError('DISK_FULL', 'full', true);

describe('the outcome settler', () => {
  it('tries a retriable failure again, backing off, until it is applied; idle() waits for the retries', async () => {
    const h = host();
    const settler = new OutcomeSettler(h.host);
    const d = scripted([busy(), busy(), null]);
    settler.apply(d, undefined);
    expect(settler.inFlight).toBe(1);
    await settler.idle();
    expect(d.calls).toEqual(['ack', 'ack', 'ack']);
    expect(h.sleeps).toEqual([10, 20]);
    expect(h.events).toEqual([]);
    expect(settler.inFlight).toBe(0);
  });

  it('nacks with the handler\'s error, and retries it as a nack', async () => {
    const h = host();
    const settler = new OutcomeSettler(h.host);
    const d = scripted([busy(), null]);
    settler.apply(d, { error: 'boom' });
    await settler.idle();
    expect(d.calls).toEqual(['nack boom', 'nack boom']);
  });

  it('reports a lost lease and stops; a failure that is not retriable is fatal', async () => {
    const h = host();
    const settler = new OutcomeSettler(h.host);
    settler.apply(scripted([new StaleDeliveryError('t', 0, 7, 'its lease ran out')]), undefined);
    settler.apply(scripted([new FerryError('CORRUPT_STATE', 'bad', false)]), undefined);
    await settler.idle();
    expect(h.events).toEqual(['lost STALE_DELIVERY', 'fatal CORRUPT_STATE']);
  });

  it('gives up a retriable failure once the lease has run out (the message comes back)', async () => {
    let now = 0;
    const h = host(() => now);
    const settler = new OutcomeSettler(h.host);
    const d = scripted([busy(), busy(), busy()], 15);
    h.host.sleep = async (ms: number) => {
      h.sleeps.push(ms);
      now += ms;
    };
    settler.apply(d, undefined);
    await settler.idle();
    expect(d.calls).toEqual(['ack', 'ack']); // at 0, then at 10; at 30 the lease (15) is over
    expect(h.events).toEqual([]);
  });
});
