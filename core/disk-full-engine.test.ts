// The engine on a full disk: a state change that cannot be logged changes nothing, and the
// engine carries on once space is back (regressions from the core review).
// In-thread only (threads: 0): filling the disk, crashing the process and the 60 s retention tick
// need the fault-injecting memory disk and the manual clock, which worker threads cannot share.
import { describe, expect, it } from 'vitest';
import { flush, memoryFerry, pendingNext } from '../test-support/memory-ferry.ts';

// A copy-on-write disk: the logs' appends into the zeros they wrote ahead need room too, so a
// full disk refuses the very record a test means it to (on ext4 they would land in reserved space).
const fill = (setup: ReturnType<typeof memoryFerry>, room = 0) => {
  setup.fs.faults.copyOnWrite = true;
  setup.fs.faults.capacityBytes = 0;
  setup.fs.faults.capacityBytes = -setup.fs.freeBytes() + room;
};
const unfill = (setup: ReturnType<typeof memoryFerry>) => (setup.fs.faults.capacityBytes = Number.POSITIVE_INFINITY);

describe('engine on a full disk', () => {
  it('a createTopic that failed is really retried, and survives a restart', async () => {
    const setup = memoryFerry(61);
    let ferry = await setup.open();
    fill(setup);
    await expect(ferry.createTopic('t')).rejects.toMatchObject({ code: 'DISK_FULL' });
    unfill(setup);
    await ferry.createTopic('t');
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open();
    expect(ferry.topics().map((t) => t.name).sort()).toEqual(['t', 't.dlq']);
    await ferry.close({ timeoutMs: 0 });
  });

  it('a group whose GROUP record failed (disk full) is registered when the consumer retries, so its acks survive a restart', async () => {
    const setup = memoryFerry(62);
    let ferry = await setup.open();
    await ferry.createTopic('t');
    await ferry.producer().publishMany('t', [1, 2].map((value) => ({ value })));
    fill(setup);
    // Joining fails (no room for the GROUP record), and the consumer retries it with backoff.
    const c = ferry.consumer('g', { topics: ['t'] });
    const first = pendingNext(c);
    await flush();
    expect(first.value).toBeUndefined();
    unfill(setup);
    setup.clock.advance(5000);
    await flush();
    await first.value!.ack();
    await (await c.next())!.ack();
    await ferry.close({ timeoutMs: 0 });
    ferry = await setup.open();
    const again = pendingNext(ferry.consumer('g', { topics: ['t'] }));
    await flush();
    expect(again.value).toBeUndefined();
    await ferry.close({ timeoutMs: 0 });
  });

  it('a nack that could not be logged leaves the message to be redelivered, then dead-lettered', async () => {
    const setup = memoryFerry(63);
    const ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publish('t', { value: 'A' });
    const c = ferry.consumer('g', { topics: ['t'], }); 
    const d = (await c.next())!;
    fill(setup);
    await expect(d.nack({ error: 'x' })).rejects.toMatchObject({ code: 'DISK_FULL' });
    unfill(setup);
    setup.clock.advance(31_000); // the lease runs out: the message is dead-lettered on expiry
    await flush();
    const letter = await ferry.consumer('ops', { topics: ['t.dlq'] }).next();
    expect(letter!.value).toBe('A');
    await ferry.close({ timeoutMs: 0 });
  });

  it('retention deletes nothing when its checkpoint cannot be written', async () => {
    const setup = memoryFerry(64, { segmentBytes: 600, limits: { checkpointEveryRecords: 1_000_000 } });
    let ferry = await setup.open();
    await ferry.createTopic('t', { dedupWindowMs: 0 });
    await ferry.producer().publishMany('t', Array.from({ length: 20 }, (_, i) => ({ value: 'x'.repeat(50) + i })));
    const c = ferry.consumer('g', { topics: ['t'] });
    for (let i = 0; i < 20; i++) await (await c.next())!.ack();
    fill(setup);
    setup.clock.advance(60_000); // the retention tick
    await flush();
    unfill(setup);
    setup.fs.crash('process');
    ferry = await setup.open();
    const again = pendingNext(ferry.consumer('g', { topics: ['t'] }));
    await flush();
    expect(again.value).toBeUndefined(); // every ack is still known
    await ferry.close({ timeoutMs: 0 });
  });

  it('a dead letter whose intent survived a restart is sent, even before any consumer reads that far', async () => {
    const setup = memoryFerry(65);
    let ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publish('t', { value: 'dies' });
    const d = (await ferry.consumer('g', { topics: ['t'] }).next())!;
    fill(setup, 200); // room for the DEAD_INTENT record, not for the dead letter itself
    await d.nack({ error: 'boom' });
    await flush();
    setup.fs.crash('process');
    unfill(setup);
    ferry = await setup.open();
    const letter = await ferry.consumer('ops', { topics: ['t.dlq'] }).next();
    expect(letter).toMatchObject({ value: 'dies', deadLetter: { attempts: 1, lastError: 'boom' } });
    await ferry.close({ timeoutMs: 0 });
  });
});
