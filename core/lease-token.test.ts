// Lease tokens are numbers (issue 11: a string built per delivery and compared per settle was CPU
// and garbage per message). What the string's incarnation prefix guaranteed must still hold: a
// delivery of an earlier run of the partition (a shard restarted while the consumer held it) is
// refused by the next run, even when that run leased the same message as many times.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { PartitionActor } from './partition-actor.ts';
import { resolveTopicOptions } from './topic-options.ts';

function setup() {
  const fs = new MemoryFileSystem({ random: new SeededRandom(1) });
  const clock = new ManualClock(1_000_000);
  const options = resolveTopicOptions('t');
  const limits = { maxUnsettledPerGroup: 1000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, maxGroups: 10, checkpointEveryRecords: 1_000_000 };
  return async (incarnation: number) => {
    const log = await WriteAheadLog.open({ dir: '/p', fs, clock, segmentBytes: 1 << 20 });
    const actor = PartitionActor.open({ topic: 't', partition: 0, options, clock, random: new SeededRandom(2), log, limits, maxMessageBytes: 1 << 20, incarnation });
    await actor.ensureGroup('g', 'none');
    return { log, actor };
  };
}

const fetchOne = async (actor: PartitionActor) => (await actor.fetch({ group: 'g', consumerId: 'c', max: 1, waitMs: 0 }))[0]!;

describe('lease tokens', () => {
  it("refuses a delivery of the partition's earlier run, leased as many times as the new run's", async () => {
    const open = setup();
    const first = await open(1);
    await first.actor.publish({ payload: frameMessages([encodeMessage({ value: 'x' }, 0, 1 << 20)]), count: 1 });
    const old = await fetchOne(first.actor);
    first.actor.close();
    await first.log.close();

    const second = await open(2); // the shard came back: its actor counts leases afresh
    const fresh = await fetchOne(second.actor);
    expect(fresh.offset).toBe(old.offset);
    expect(fresh.attempt).toBe(old.attempt); // the same lease of the same message, by count
    const ack = (token: number) => second.actor.settle('g', [{ kind: 'ack', offset: fresh.offset, token }]);
    expect(await ack(old.token)).toEqual([expect.objectContaining({ code: 'STALE_DELIVERY' })]);
    expect(await ack(fresh.token)).toEqual([null]);
    second.actor.close();
    await second.log.close();
  });

  it('are small whole numbers for the largest incarnation, and consecutive within a fetch', async () => {
    const { actor, log } = await setup()(2 ** 31 - 1);
    await actor.publish({ payload: frameMessages(['a', 'b', 'c'].map((value) => encodeMessage({ value }, 0, 1 << 20))), count: 3 });
    const got = await actor.fetch({ group: 'g', consumerId: 'c', max: 3, waitMs: 0 });
    expect(got.map((m) => m.token - got[0]!.token)).toEqual([0, 1, 2]);
    for (const m of got) expect(Number.isInteger(m.token) && m.token < 2 ** 30).toBe(true); // no heap number per object holding one
    await Promise.all(got.map((m) => actor.ack('g', m.offset, m.token)));
    actor.close();
    await log.close();
  });
});
