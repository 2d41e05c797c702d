// Retention and checkpoints, on one partition actor: what is deleted, and that replay after a
// deletion still knows every group, its progress and the producers' sequences.
// In-thread only: these drive one partition actor on the memory disk with small segments and a
// manual clock, since the engine runs retention on a 60 s tick (only a manual clock skips it) and
// which segments it deleted is not visible through the public API.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { PartitionActor } from './partition-actor.ts';
import { resolveTopicOptions, type TopicOptions } from './topic-options.ts';

function setup(topicOptions: TopicOptions, checkpointEveryRecords = 1_000_000) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(1) });
  const clock = new ManualClock(1_000_000);
  const options = resolveTopicOptions('t', topicOptions);
  const limits = { maxUnsettledPerGroup: 1000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, maxGroups: 10, checkpointEveryRecords };
  return {
    clock,
    async open() {
      const log = await WriteAheadLog.open({ dir: '/p', fs, clock, segmentBytes: 2048 });
      return { log, actor: PartitionActor.open({ topic: 't', partition: 0, options, clock, random: new SeededRandom(2), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 }) };
    },
  };
}

const request = (values: string[], seq = -1) => ({
  payload: frameMessages(values.map((v) => encodeMessage({ value: v }, 0, 1 << 20))),
  count: values.length,
  ...(seq >= 0 ? { producer: { id: 9, epoch: 0, baseSequence: seq, name: 'p' } } : {}),
});

async function drain(actor: PartitionActor, group: string, max: number): Promise<number[]> {
  const got = await actor.fetch({ group, consumerId: 'c', max, waitMs: 0 });
  for (const m of got) await actor.ack(group, m.offset, m.token);
  return got.map((m) => m.offset);
}

describe('retention and checkpoints', () => {
  it('deletes segments every group has settled (and out of the dedupe window), and replays from the checkpoint', async () => {
    const s = setup({ dedupWindowMs: 1000 });
    let { log, actor } = await s.open();
    await actor.ensureGroup('a', 'none');
    await actor.ensureGroup('b', 'none');
    for (let i = 0; i < 40; i++) await actor.publish(request([`m${i}`.padEnd(100)], i));
    expect(log.segments().length).toBeGreaterThan(3);
    expect(await drain(actor, 'a', 40)).toHaveLength(40);
    const bSettled = await drain(actor, 'b', 10); // b is behind: only what b settled may go
    s.clock.advance(1001);
    expect(await actor.retain()).toBeGreaterThan(0);
    const start = log.startOffset;
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(bSettled[bSettled.length - 1]! + 1);

    actor.close();
    await log.close();
    ({ log, actor } = await s.open());
    expect(log.startOffset).toBe(start);
    expect(await drain(actor, 'a', 100)).toEqual([]); // a's acks survived the deletion
    expect((await drain(actor, 'b', 100)).length).toBe(30); // b resumes where it was
    // The producer's sequence survived too: a retried batch is still a duplicate.
    expect(await actor.publish(request(['m39'.padEnd(100)], 39))).toMatchObject({ duplicates: [true] });
    actor.close();
    await log.close();
  });

  it('replays from the latest checkpoint, yet remembers message ids published before it', async () => {
    const s = setup({ dedupWindowMs: 60_000 }, 5);
    let { log, actor } = await s.open();
    await actor.ensureGroup('g', 'none');
    const withId = () => ({ payload: frameMessages([encodeMessage({ value: 'a', id: 'order-1' }, 0, 1 << 20)]), count: 1, ids: ['order-1'] });
    const first = await actor.publish(withId());
    for (let i = 0; i < 12; i++) await actor.publish(request([`x${i}`])); // two checkpoints go by
    await drain(actor, 'g', 5);
    actor.close();
    await log.close();
    ({ log, actor } = await s.open());
    expect(await actor.publish(withId())).toEqual({ offsets: first.offsets, duplicates: [true] });
    expect((await drain(actor, 'g', 100)).length).toBe(8); // 13 published, 5 acked before the restart
    actor.close();
    await log.close();
  });

  it('expires unsettled messages past retention.ms', async () => {
    const s = setup({ retention: { ms: 10_000 }, dedupWindowMs: 0 });
    const { log, actor } = await s.open();
    await actor.ensureGroup('slow', 'none');
    for (let i = 0; i < 40; i++) await actor.publish(request([`m${i}`.padEnd(100)]));
    s.clock.advance(10_001);
    await actor.publish(request(['fresh'.padEnd(100)]));
    expect(await actor.retain()).toBeGreaterThan(0);
    const offsets = await drain(actor, 'slow', 100);
    expect(offsets[0]).toBeGreaterThanOrEqual(log.startOffset);
    expect(offsets.length).toBeLessThan(41);
    actor.close();
    await log.close();
  });

  it('after a restart, messages that expired unsettled stay gone (the checkpoint before the deletion still listed them)', async () => {
    const s = setup({ retention: { ms: 10_000 }, dedupWindowMs: 0 });
    let { log, actor } = await s.open();
    await actor.ensureGroup('slow', 'none');
    for (let i = 0; i < 40; i++) await actor.publish(request([`m${i}`.padEnd(100)]));
    expect(await actor.fetch({ group: 'slow', consumerId: 'c', max: 40, waitMs: 0 })).toHaveLength(40); // tracked, unsettled
    s.clock.advance(10_001);
    await actor.publish(request(['fresh'.padEnd(100)]));
    expect(await actor.retain()).toBeGreaterThan(0);
    actor.close();
    await log.close();
    ({ log, actor } = await s.open());
    s.clock.advance(60_000); // the leases of the first run are gone
    const offsets = await drain(actor, 'slow', 100);
    expect(offsets.length).toBeGreaterThan(0);
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(log.startOffset);
    actor.close();
    await log.close();
  });
});
