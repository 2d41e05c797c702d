// A transaction that touches a partition whose worker restarts (issue 13): the restarted shard
// replays its prepared parts from its log (still invisible, their acks still reserved), and the
// decision reaches it once it is back.
import { afterEach, describe, expect, it } from 'vitest';
import { realFerry, until, type RealFerry } from '../test-support/real-ferry.ts';
import type { Ferry } from '../index.ts';

let setup: RealFerry | undefined;
let ferry: Ferry | undefined;
afterEach(async () => {
  await ferry?.close({ timeoutMs: 0 });
  ferry = undefined;
  setup?.cleanup();
  setup = undefined;
});

async function readValues(f: Ferry, group: string, topic: string, expected: number): Promise<unknown[]> {
  const c = f.consumer(group, { topics: [topic], pollWaitMs: 20 });
  const seen: unknown[] = [];
  const running = c.run((d) => void seen.push(d.value));
  if (expected > 0) await until(() => seen.length >= expected, 10_000);
  await new Promise((r) => setTimeout(r, 150)); // room for one too many
  await c.close({ timeoutMs: 0 });
  await running;
  return seen;
}

describe('a transaction across a worker restart', () => {
  it('commits what a restarted shard prepared before it died, and keeps its acked delivery reserved meanwhile', async () => {
    setup = realFerry(1);
    ferry = await setup.open();
    await ferry.createTopic('in', { ackTimeoutMs: 60_000 });
    await ferry.createTopic('out', { partitions: 2 });
    await ferry.producer().publish('in', { value: 'job' });
    const consumer = ferry.consumer('work', { topics: ['in'], pollWaitMs: 20 });
    const d = (await consumer.next())!;
    const tx = await ferry.beginTransaction({ id: 'across-restart' });
    await tx.publish('out', { value: 'o1', key: 'a' });
    await tx.publish('out', { value: 'o2', key: 'b' });
    await tx.ack(d);
    await consumer.close({ timeoutMs: 0 }); // nobody holds the delivery but the transaction
    await setup.runtime!.killShard(0, 'throw');
    // Back from its log: the delivery is reserved by the prepared transaction, not handed out again,
    // and the prepared messages are invisible: readers get the later sentinels and nothing else.
    const producer = ferry.producer();
    await producer.publish('in', { value: 'sentinel' });
    await producer.publishMany('out', [{ value: 'sa', key: 'a' }, { value: 'sb', key: 'b' }]);
    expect(await readValues(ferry, 'work', 'in', 1)).toEqual(['sentinel']);
    expect((await readValues(ferry, 'early', 'out', 2)).sort()).toEqual(['sa', 'sb']);
    await tx.commit();
    expect((await readValues(ferry, 'late', 'out', 4)).sort()).toEqual(['o1', 'o2', 'sa', 'sb']);
    expect(await readValues(ferry, 'work', 'in', 0)).toEqual([]); // acked by the commit
  });

  it('frees the reserved delivery when the transaction aborts after the restart', async () => {
    setup = realFerry(1);
    ferry = await setup.open();
    await ferry.createTopic('in', { ackTimeoutMs: 60_000 });
    await ferry.createTopic('out');
    await ferry.producer().publish('in', { value: 'job' });
    const consumer = ferry.consumer('work', { topics: ['in'], pollWaitMs: 20 });
    const d = (await consumer.next())!;
    const tx = await ferry.beginTransaction({ id: 'aborted-after-restart' });
    await tx.publish('out', { value: 'never' });
    await tx.ack(d);
    await setup.runtime!.killShard(0, 'throw');
    await consumer.close({ timeoutMs: 0 });
    await tx.abort();
    expect(await readValues(ferry, 'work', 'in', 1)).toEqual(['job']);
    expect(await readValues(ferry, 'readers', 'out', 0)).toEqual([]);
  });
});
