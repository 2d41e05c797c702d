// A group at its limit of unsettled messages (limits.maxUnsettledPerGroup) tracks one more message
// per settle. Each such scan re-read up to 256 KiB of log from the group's cursor and checked its
// checksums to track that one message: a key-ordered backlog of one hot key past the limit
// consumed at 265 msg/s, 3.5 ms of CPU per message (a new-user trial, issue 11). A scan that
// stops at the limit inside a batch now resumes in that batch without reading it again.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../wal/index.ts';
import { MemoryFileSystem } from '../wal/fault-disk.ts';
import type { FileHandle, FileSystem } from '../wal/seams/file-system.ts';
import { encodeMessage, frameMessages } from './codec.ts';
import { memoryRuntime } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

const LIMIT = 10;
const MESSAGES = 300;

/** A file system whose handles count their reads. */
function countingReads(fs: FileSystem): { fs: FileSystem; reads: () => number } {
  let reads = 0;
  const wrap = (handle: FileHandle): FileHandle =>
    new Proxy(handle, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (name === 'read') return (...args: Parameters<FileHandle['read']>) => (reads++, target.read(...args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  const counted = new Proxy(fs, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (name === 'open') return (...args: Parameters<FileSystem['open']>) => wrap(target.open(...args));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { fs: counted, reads: () => reads };
}

describe('a group at its limit of unsettled messages', () => {
  it('tracks the next message of the batch it stopped in without reading the batch again', async () => {
    const disk = new MemoryFileSystem({ random: new SeededRandom(5) });
    const { fs, reads } = countingReads(disk.processView());
    const rt = memoryRuntime({ fs, limits: { maxUnsettledPerGroup: LIMIT, recordCacheBytes: 1 << 20 } });
    await rt.openTopic('t', resolveTopicOptions('t', { partitions: 1 }));
    await rt.call({ op: 'ensureGroup', topic: 't', partition: 0, group: 'g', ordering: 'key' });
    // One batch of one hot key: only its first unsettled message may be in flight.
    await rt.call({ op: 'publish', topic: 't', partition: 0, request: { payload: frameMessages(Array.from({ length: MESSAGES }, (_, i) => encodeMessage({ value: i, key: 'hot' }, 0, 1 << 16))), count: MESSAGES } });
    const before = reads();
    const delivered: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const [m, ...more] = await rt.call({ op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 10, waitMs: 0 } });
      expect(more).toEqual([]); // the key's head only
      delivered.push(m!.offset);
      expect(await rt.call({ op: 'settle', topic: 't', partition: 0, group: 'g', items: [{ kind: 'ack', offset: m!.offset, token: m!.token }] })).toEqual([null]);
    }
    expect(delivered).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1)); // the GROUP record is at 0, in order
    // Every message of the batch was tracked by a scan that stopped at the limit: one read of the
    // batch (and a few of the index and the record cache's fallbacks), not one per message.
    expect(reads() - before).toBeLessThan(MESSAGES / 10);
    await rt.close();
  });
});
