// The publish -> first delivery histogram counts every message once, also when a fetch records
// the messages of one batch with one call (issue 11: a bucket scan per delivered message was 2.5%
// of the consume path's CPU).
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom, WriteAheadLog } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { PartitionActor } from './partition-actor.ts';
import { resolveTopicOptions } from './topic-options.ts';

describe('the deliver histogram', () => {
  it('counts each first delivery once, in the bucket of its own batch, and no redelivery', async () => {
    const fs = new MemoryFileSystem({ random: new SeededRandom(1) });
    const clock = new ManualClock(1_000_000);
    const log = await WriteAheadLog.open({ dir: '/p', fs, clock, segmentBytes: 1 << 20 });
    const limits = { maxUnsettledPerGroup: 1000, maxWaiters: 10, maxDedupIds: 1000, maxProducers: 10, maxGroups: 10, checkpointEveryRecords: 1_000_000 };
    const actor = PartitionActor.open({ topic: 't', partition: 0, options: resolveTopicOptions('t'), clock, random: new SeededRandom(2), log, limits, maxMessageBytes: 1 << 20, incarnation: 1 });
    await actor.ensureGroup('g', 'none');
    const batch = (n: number) => ({ payload: frameMessages(Array.from({ length: n }, (_, i) => encodeMessage({ value: i }, 0, 1 << 20))), count: n });
    await actor.publish(batch(3)); // published at 1,000,000
    clock.advance(2_000);
    await actor.publish(batch(2)); // published 2 s later
    clock.advance(3);
    const got = await actor.fetch({ group: 'g', consumerId: 'c', max: 10, waitMs: 0 });
    expect(got).toHaveLength(5);
    await actor.nack('g', got[0]!.offset, got[0]!.token, { delayMs: 0 });
    expect(await actor.fetch({ group: 'g', consumerId: 'c', max: 10, waitMs: 0 })).toHaveLength(1); // a redelivery: not counted again
    const { deliver } = actor.stats();
    expect(deliver.count).toBe(5);
    const bucket = (seconds: number) => deliver.boundsSeconds.findIndex((b) => seconds <= b);
    expect(deliver.counts[bucket(2.003)]).toBe(3); // the first batch waited 2.003 s
    expect(deliver.counts[bucket(0.003)]).toBe(2); // the second 3 ms
    expect(deliver.sumSeconds).toBeCloseTo(3 * 2.003 + 2 * 0.003, 9);
    actor.close();
    await log.close();
  });
});
