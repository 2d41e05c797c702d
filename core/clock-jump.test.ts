// Durations run on the monotonic clock (issue 9 §3 "Time"): a step of the wall clock (an NTP
// correction, a laptop waking) neither expires leases nor moves retries. ManualClock.jump steps
// the wall clock only; advance() moves both clocks, as time passing does.
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.ts';
import { StaleDeliveryError } from './errors.ts';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';

/** Advances the manual clock by `ms` in 10 ms steps, letting the engine run between them. */
async function elapse(clock: { advance(ms: number): void }, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 10) {
    clock.advance(Math.min(10, left));
    await flush(4);
  }
}

describe('durations on the monotonic clock (issue 9 §3)', () => {
  it('a wall-clock jump of 10 × ackTimeoutMs expires no lease and charges no attempt', async () => {
    const setup = memoryFerry(31);
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 1000, maxDeliveries: 1 }); // one charge would dead-letter it
    await ferry.producer().publishMany('jobs', [{ value: 'a' }, { value: 'b' }]);
    const consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 2, pollWaitMs: 10 }); // fetches often: each fetch looks for expiries
    const held = (await consumer.next())!; // the handler took it: its lease runs
    await flush();
    setup.clock.jump(10 * 1000);
    await elapse(setup.clock, 500); // timers and fetches run meanwhile, none may see an expiry
    await held.ack(); // still leased: not STALE_DELIVERY
    const other = (await consumer.next())!; // waited in the buffer over the jump
    expect(other.attempt).toBe(1);
    await other.ack();
    const ops = ferry.consumer('ops', { topics: ['jobs.dlq'] });
    const letter = pendingNext(ops);
    await elapse(setup.clock, 2000);
    expect(letter.value).toBeUndefined();
    await ferry.close();
  });

  it('a lease still expires after ackTimeoutMs of monotonic time, whatever the wall clock did', async () => {
    const setup = memoryFerry(32);
    const ferry = await setup.open();
    await ferry.createTopic('jobs', { ackTimeoutMs: 1000 });
    await ferry.producer().publish('jobs', { value: 'a' });
    const consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 1, pollWaitMs: 10 });
    const held = (await consumer.next())!;
    await flush();
    setup.clock.jump(-60_000); // a backward step must not stretch the lease either
    const again = pendingNext(consumer);
    await elapse(setup.clock, 990);
    expect(again.value).toBeUndefined();
    await elapse(setup.clock, 30);
    expect(again.value).toMatchObject({ value: 'a', attempt: 2 });
    await expect(held.ack()).rejects.toBeInstanceOf(StaleDeliveryError);
    await (again.value as Delivery<string>).ack();
    await ferry.close();
  });

  it('a checkpoint written after a jump keeps what was left of a retry delay, across a restart', async () => {
    const setup = memoryFerry(34);
    const open = () => setup.open({ limits: { checkpointEveryRecords: 1 } }); // every record checkpoints
    let ferry = await open();
    await ferry.createTopic('jobs', { backoff: { kind: 'fixed', delayMs: 10_000 } });
    const producer = ferry.producer();
    await producer.publish('jobs', { value: 'a' });
    let consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 1 });
    await (await consumer.next())!.nack({ error: 'boom' }); // its RETRY record holds the wall time it is due
    await flush();
    setup.clock.jump(60_000);
    await producer.publish('jobs', { value: 'b' }); // a checkpoint now holds the due time as of the jumped wall clock
    await flush();
    await ferry.close({ timeoutMs: 0 });
    ferry = await open();
    consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 1, pollWaitMs: 10 });
    await (await consumer.next())!.ack(); // 'b'
    const again = pendingNext(consumer);
    await elapse(setup.clock, 9_900);
    expect(again.value).toBeUndefined();
    await elapse(setup.clock, 200);
    expect(again.value).toMatchObject({ value: 'a', attempt: 2 });
    await ferry.close({ timeoutMs: 0 });
  });

  it('a wall clock set back across a restart does not stretch a retry\'s or a delay\'s wait (it waits no longer than asked)', async () => {
    const setup = memoryFerry(36);
    let ferry = await setup.open();
    await ferry.createTopic('jobs', { backoff: { kind: 'fixed', delayMs: 1000 } });
    await ferry.producer().publishMany('jobs', [{ value: 'a' }, { value: 'later', delayMs: 1000 }]);
    let consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 2 });
    await (await consumer.next())!.nack({ error: 'boom' }); // RETRY due in 1 s, persisted as a wall time
    await ferry.close({ timeoutMs: 0 });
    setup.clock.jump(-3_600_000); // the machine comes back with its clock an hour behind
    ferry = await setup.open();
    consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 2, pollWaitMs: 10 });
    const got: string[] = [];
    void (async () => {
      for (let d = await consumer.next(); d; d = await consumer.next()) {
        got.push(`${d.value}@${d.attempt}`);
        await d.ack();
      }
    })();
    // Before the fix both waited until the wall clock caught up: an hour.
    await elapse(setup.clock, 1_100);
    expect(got.sort()).toEqual(['a@2', 'later@1']);
    await ferry.close({ timeoutMs: 0 });
  });

  it('the dedupe window runs on monotonic time: a forward jump does not end it early', async () => {
    const setup = memoryFerry(35);
    const ferry = await setup.open();
    await ferry.createTopic('t', { dedupWindowMs: 60_000 });
    const first = await ferry.producer().publish('t', { value: 'a', id: 'order-1' });
    setup.clock.jump(120_000);
    await elapse(setup.clock, 100);
    expect(await ferry.producer().publish('t', { value: 'a', id: 'order-1' })).toEqual({ ...first, duplicate: true });
    await ferry.close();
  });

  for (const jumpMs of [10_000, -60_000]) {
    it(`a nack with a 1 s backoff is redelivered after 1 s, when the wall clock jumps ${jumpMs} ms`, async () => {
      const setup = memoryFerry(33);
      const ferry = await setup.open();
      await ferry.createTopic('jobs', { ackTimeoutMs: 5000, backoff: { kind: 'fixed', delayMs: 1000 } });
      await ferry.producer().publish('jobs', { value: 'a' });
      const consumer = ferry.consumer<string>('g', { topics: ['jobs'], maxInFlight: 1, pollWaitMs: 10 });
      const first = (await consumer.next())!;
      await first.nack({ error: 'boom' });
      setup.clock.jump(jumpMs);
      const again = pendingNext<Delivery<string>>(consumer);
      await elapse(setup.clock, 990);
      expect(again.value).toBeUndefined();
      await elapse(setup.clock, 20);
      expect(again.value).toMatchObject({ value: 'a', attempt: 2 });
      await again.value!.ack();
      await ferry.close();
    });
  }
});
