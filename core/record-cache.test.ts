// The record cache is bounded for the whole engine, not per partition (issue 9): every partition
// of a runtime draws on one byte budget, the oldest record of any partition goes first, and a
// delivery whose record was evicted reads it from the log.
import { describe, expect, it } from 'vitest';
import { ManualClock, SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import { decodeBody, encodeMessage, frameMessages } from './codec.ts';
import { recordOf } from './partition-api.ts';
import { LocalRuntime } from './local-runtime.ts';
import { memoryRuntime } from '../test-support/memory-ferry.ts';
import { RecordCacheBudget, recordCacheShare } from './record-cache.ts';
import { resolveTopicOptions } from './topic-options.ts';

const PARTITIONS = 8;
const BUDGET = 64 * 1024;

function runtime() {
  return memoryRuntime({ limits: { recordCacheBytes: BUDGET } });
}

const values = (p: number) => Array.from({ length: 1000 }, (_, i) => `${p}/${i}`.padEnd(200));

describe('record cache budget', () => {
  it('keeps the records cached by all partitions of a runtime within one budget, and delivers every message whole', async () => {
    const rt = runtime();
    await rt.openTopic('t', resolveTopicOptions('t', { partitions: PARTITIONS }));
    for (let p = 0; p < PARTITIONS; p++) {
      await rt.call({ op: 'ensureGroup', topic: 't', partition: p, group: 'g', ordering: 'none' });
      for (let b = 0; b < 1000; b += 100) await rt.call({ op: 'publish', topic: 't', partition: p, request: { payload: frameMessages(values(p).slice(b, b + 100).map((value) => encodeMessage({ value }, 0, 1 << 16))), count: 100 } });
    }
    // One message from each: each fetch scans all ten batches (200 KB) and caches the rest.
    let largest = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      expect(await rt.call({ op: 'fetch', topic: 't', partition: p, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 0 } })).toHaveLength(1);
      largest = Math.max(largest, rt.recordCacheBytes);
    }
    expect(largest).toBeGreaterThan(BUDGET / 2); // it is used
    expect(largest).toBeLessThanOrEqual(BUDGET); // 8 partitions once held 8 x 200 KB here
    for (let p = 0; p < PARTITIONS; p++) {
      const rest = await rt.call({ op: 'fetch', topic: 't', partition: p, request: { group: 'g', consumerId: 'c', max: 1000, waitMs: 0 } });
      expect(rest.map((m) => m.offset)).toEqual(Array.from({ length: 999 }, (_, i) => i + 2)); // the GROUP record is at 0
      expect(rest.map((m) => decodeBody(recordOf(m)).value)).toEqual(values(p).slice(1));
      expect(rt.recordCacheBytes).toBeLessThanOrEqual(BUDGET);
    }
    await rt.close();
  });

  it('a record larger than the whole budget is not kept, and still delivered', async () => {
    const budget = new RecordCacheBudget(0);
    expect(budget.bytes).toBe(0);
    const rt = new LocalRuntime({
      dir: '/r',
      fs: new MemoryFileSystem({ random: new SeededRandom(1) }),
      clock: new ManualClock(1),
      random: new SeededRandom(2),
      fsync: 'none',
      fsyncIntervalMs: 0,
      segmentBytes: 1 << 20,
      maxMessageBytes: 1 << 16,
      limits: { maxUnsettledPerGroup: 100, maxWaiters: 10, maxDedupIds: 100, maxProducers: 10, checkpointEveryRecords: 1000, maxGroups: 10, recordCacheBytes: 0 },
    });
    await rt.openTopic('t', resolveTopicOptions('t'));
    await rt.call({ op: 'ensureGroup', topic: 't', partition: 0, group: 'g', ordering: 'none' });
    await rt.call({ op: 'publish', topic: 't', partition: 0, request: { payload: frameMessages(['a', 'b'].map((value) => encodeMessage({ value }, 0, 1 << 16))), count: 2 } });
    const got = await rt.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 0 } });
    expect(rt.recordCacheBytes).toBe(0);
    const more = await rt.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 0 } });
    expect([...got, ...more].map((m) => decodeBody(recordOf(m)).value)).toEqual(['a', 'b']);
    await rt.close();
  });

  it('gives each worker shard (a runtime of its own) an equal share of the engine budget', () => {
    expect(recordCacheShare({ recordCacheBytes: 64 * 1024 * 1024 }, 4).recordCacheBytes).toBe(16 * 1024 * 1024);
    expect(recordCacheShare({}, 2).recordCacheBytes).toBe(32 * 1024 * 1024);
  });
});

describe('a fetch of redeliveries and fresh messages together', () => {
  it('copies records that lie one after the other as one run, and each one whole (values of any size, out of order)', async () => {
    const rt = runtime();
    await rt.openTopic('t', resolveTopicOptions('t', { backoff: { kind: 'fixed', delayMs: 0 } }));
    await rt.call({ op: 'ensureGroup', topic: 't', partition: 0, group: 'g', ordering: 'none' });
    const sized = Array.from({ length: 12 }, (_, i) => `v${i}:`.padEnd(1 + ((i * 37) % 300), String.fromCharCode(97 + i)));
    for (const b of [0, 6]) await rt.call({ op: 'publish', topic: 't', partition: 0, request: { payload: frameMessages(sized.slice(b, b + 6).map((value) => encodeMessage({ value }, 0, 1 << 16))), count: 6 } });
    const fetch = (max: number) => rt.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max, waitMs: 0 } });
    const first = await fetch(5);
    // Nack the 4th and the 2nd (in that order): they come back first, then the rest of both batches.
    for (const m of [first[3]!, first[1]!]) {
      expect(await rt.call({ op: 'settle', topic: 't', partition: 0, group: 'g', items: [{ kind: 'nack', offset: m.offset, token: m.token, options: { delayMs: 0 } }] })).toEqual([null]);
    }
    const second = await fetch(20);
    const valueOf = (m: (typeof second)[number]) => decodeBody(recordOf(m)).value;
    expect(second.map(valueOf)).toEqual([...[first[3]!, first[1]!].map(valueOf), ...sized.slice(5)]);
    expect(second.map((m) => m.attempt)).toEqual([2, 2, ...sized.slice(5).map(() => 1)]);
    await rt.close();
  });
});
