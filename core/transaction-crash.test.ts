// What a crash between the steps of a commit leaves (issue 13, docs/TRANSACTIONS.md's crash
// table), on the in-memory disk with power loss: after prepare and before the decision is durable
// nothing happened; after the decision and before the partitions applied it, everything did; an
// in-doubt half transaction is resolved by asking resolveInDoubt.
import { describe, expect, it } from 'vitest';
import { FerryError, type FileHandle, type FileSystem } from '../wal/index.ts';
import { Ferry, type FerryOptions } from './ferry.ts';
import type { Transaction } from './transaction.ts';
import { flush, halfThenCrash, memoryFerry, openIntercepting, type MemoryFerrySetup } from '../test-support/memory-ferry.ts';

/** `fs` whose file handles of paths containing `dir` have `field` replaced by `replace(handle, path)`. */
function overrideHandles(fs: FileSystem, dir: string, field: keyof FileHandle, replace: (h: FileHandle, path: string) => unknown): FileSystem {
  return new Proxy(fs, {
    get(target, name, receiver) {
      if (name !== 'open') return Reflect.get(target, name, receiver) as unknown;
      return (path: string, mode: Parameters<FileSystem['open']>[1]): FileHandle => {
        const handle = target.open(path, mode);
        return new Proxy(handle, {
          get(h, f) {
            if (f === field && path.includes(dir)) return replace(h, path);
            const value = Reflect.get(h, f, h) as unknown;
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(h) : value;
          },
        });
      };
    },
  });
}

/**
 * A disk whose syncs of files whose path contains `dir` never finish while `hold()` says so (their
 * writes stay unsynced until a crash keeps, tears or drops them); `synced(path)` is told of every
 * other sync that completed.
 */
function holdingSyncs(fs: FileSystem, dir: string, hold: () => boolean, synced: (path: string) => void = () => {}): FileSystem {
  return overrideHandles(fs, '', 'sync', (h, path) => () => (path.includes(dir) && hold() ? new Promise<void>(() => {}) : h.sync().then(() => synced(path))));
}

async function readAll(ferry: Ferry, group: string, topic: string): Promise<unknown[]> {
  const c = ferry.consumer(group, { topics: [topic], pollWaitMs: 10 });
  const seen: unknown[] = [];
  for (;;) {
    const next = c.next();
    await flush();
    const d = await Promise.race([next, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
    if (!d) break;
    seen.push(d.value);
    await d.ack();
  }
  await c.close({ timeoutMs: 0 });
  return seen;
}

/** A disk on which writes to files whose path contains `dir` fail with ENOSPC while `full()` says so. */
function fullFor(fs: FileSystem, dir: string, full: () => boolean): FileSystem {
  return overrideHandles(fs, dir, 'writev', (h) => (buffers: readonly Uint8Array[], position: number) => {
    if (full()) throw Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' });
    return h.writev(buffers, position);
  });
}

/**
 * Reopens the engine with a runtime whose first `txList` to `topic/partition` fails as a lost
 * request would (retriable): recovery's listing of what is prepared misses that partition.
 */
function openMissingOneListing(memory: MemoryFerrySetup, where: string, overrides: Partial<FerryOptions>): Promise<Ferry> {
  let missed = false;
  return openIntercepting(
    memory,
    (command) => {
      if (command.op !== 'txList' || `${command.topic}/${command.partition}` !== where || missed) return undefined;
      missed = true;
      return Promise.reject(new FerryError('REQUEST_LOST', `txList to ${where}: no reply`, true));
    },
    overrides,
  );
}

type Phase = 'idle' | 'committing' | 'decided';

/**
 * An engine with topics `in` and `out`, whose syncs of `dirToHold` hang in `holdIn`, committing
 * one way: `transaction`, one ferry.transaction that acks the one input leased to `work` and
 * publishes o1, o2; `merged`, an exactlyOnce run() whose two handlers (inputs i1, i2, each
 * publishing its a and b outputs) are ready together, so their commits merge into one.
 */
async function pipeline(seed: number, dirToHold: string, holdIn: Phase, how: 'transaction' | 'merged' = 'transaction') {
  const memory = memoryFerry(seed);
  const phase = { now: 'idle' as Phase };
  const fs = holdingSyncs(memory.fs.processView(), dirToHold, () => phase.now === holdIn, (path) => {
    // The decision's sync completed: from now on the partitions' applies stay unsynced.
    if (phase.now === 'committing' && path.includes('_transactions')) phase.now = 'decided';
  });
  const prepared = new Set<string>(); // the transactions prepared (the merged handlers': one)
  const ferry = await openIntercepting(memory, (command) => void (command.op === 'txPrepare' && prepared.add(command.txId)), { fs });
  await ferry.createTopic('in');
  await ferry.createTopic('out', { partitions: 2 });
  await ferry.producer().publishMany('in', how === 'transaction' ? [{ value: 'input' }] : [{ value: 'i1' }, { value: 'i2' }]);
  const consumer = ferry.consumer<string>('work', { topics: ['in'], pollWaitMs: 10 });
  let settled: () => boolean;
  if (how === 'transaction') {
    const d = (await consumer.next())!;
    phase.now = 'committing';
    let done = false;
    void ferry
      .transaction((tx) => {
        tx.publish('out', { value: 'o1', key: 'a' });
        tx.publish('out', { value: 'o2', key: 'b' });
        tx.ack(d);
      })
      .finally(() => (done = true))
      .catch(() => {});
    settled = () => done;
  } else {
    phase.now = 'committing';
    const txs: Transaction[] = [];
    void consumer.run((d, tx) => {
      txs.push(tx);
      void tx.publish('out', { value: `${d.value}a`, key: 'a' });
      void tx.publish('out', { value: `${d.value}b`, key: 'b' });
    }, { exactlyOnce: true, concurrency: 2 }).catch(() => {});
    settled = () => txs.length === 2 && txs.every((tx) => tx.state === 'committed');
  }
  await flush(60);
  // Held at the step under test: before the decision is durable the commit waits; after it, the
  // commit has resolved (committed) though the partitions have not made their apply durable.
  expect(settled()).toBe(holdIn === 'decided');
  expect(prepared.size).toBe(1);
  memory.fs.crash('power');
  const reopened = await memory.open();
  const outputs = (await readAll(reopened, 'readers', 'out')).sort();
  const inputs = (await readAll(reopened, 'work', 'in')).sort();
  await reopened.close();
  return { outputs, inputs };
}

const ALL = { outputs: ['o1', 'o2'], inputs: [] };
const NONE = { outputs: [], inputs: ['input'] };
const ALL_MERGED = { outputs: ['i1a', 'i1b', 'i2a', 'i2b'], inputs: [] };
const NONE_MERGED = { outputs: [], inputs: ['i1', 'i2'] };

describe('a crash during a commit', () => {
  it('after prepare, before the decision is durable: all or nothing, and nothing unless the decision reached the disk', async () => {
    const outcomes = [];
    for (let seed = 1; seed <= 8; seed++) {
      const outcome = await pipeline(seed, '_transactions', 'committing');
      expect([ALL, NONE]).toContainEqual(outcome);
      outcomes.push(outcome);
    }
    expect(outcomes).toContainEqual(NONE); // presumed abort: a prepare without its decision is undone
  });

  it('after the decision, before the partitions applied it: everything happened', async () => {
    for (let seed = 1; seed <= 4; seed++) expect(await pipeline(seed, '/topics/', 'decided')).toEqual(ALL);
  });

  it('of exactlyOnce handlers merged into one transaction: all of them or none, before the decision; all of them after it', async () => {
    const outcomes = [];
    for (let seed = 1; seed <= 6; seed++) {
      const outcome = await pipeline(seed, '_transactions', 'committing', 'merged');
      expect([ALL_MERGED, NONE_MERGED]).toContainEqual(outcome);
      outcomes.push(outcome);
    }
    expect(outcomes).toContainEqual(NONE_MERGED);
    // Both handlers' commits are durable with one decision: none waits on a partition's sync after it.
    for (let seed = 1; seed <= 3; seed++) expect(await pipeline(seed, '/topics/', 'decided', 'merged')).toEqual(ALL_MERGED);
  });

  it('asks resolveInDoubt about a half transaction a crash left undecided, retrying while it throws', async () => {
    const memory = memoryFerry(8);
    await halfThenCrash(memory, 'order-42', 'order', 'power');
    const asked: string[] = [];
    let answer: 'commit' | undefined;
    const reopened = await memory.open({
      resolveInDoubt: (id, info) => {
        asked.push(`${id}:${info.partitions.length}`);
        if (!answer) throw new Error('database unreachable');
        return answer;
      },
    });
    await flush();
    expect(asked).toEqual(['order-42:1']);
    expect(await readAll(reopened, 'early', 'orders')).toEqual([]); // invisible while in doubt
    answer = 'commit';
    memory.clock.advance(1000); // the retry after the backoff
    await flush(40);
    expect(asked.length).toBeGreaterThan(1);
    expect(await readAll(reopened, 'late', 'orders')).toEqual(['order']);
    await reopened.close();
  });

  it('aborts an in-doubt half transaction once its timeout passed, when there is no resolveInDoubt', async () => {
    const memory = memoryFerry(9);
    await halfThenCrash(memory, 'order-43', 'order', 'power', { transactionTimeoutMs: 1000 });
    const reopened = await memory.open({ transactionTimeoutMs: 1000 });
    memory.clock.advance(1500);
    await flush(40);
    const later = await reopened.beginTransaction({ id: 'order-43' }); // not held up: the old one is decided
    await later.abort();
    await reopened.close();
    // Aborted for good: not in doubt at the next open either.
    const third = await memory.open({ resolveInDoubt: () => 'commit' });
    await flush();
    expect(await readAll(third, 'readers', 'orders')).toEqual([]);
    await third.close();
  });

  it('keeps a half transaction in doubt, its parts prepared, when neither its commit nor its abort could be recorded', async () => {
    // Found by the simulator (seed 101 after the merge of main 10196ff): the decision log was full,
    // the commit failed, and the roll-back dropped the parts without an abort record; after a
    // crash the check-back answered 'commit' and nothing could be committed.
    const memory = memoryFerry(11);
    let full = false;
    const ferry = await memory.open({ fs: fullFor(memory.fs.processView(), '_transactions', () => full) });
    await ferry.createTopic('orders');
    const tx = await ferry.beginTransaction({ id: 'order-77' });
    await tx.publish('orders', { value: 'order' });
    full = true;
    void tx.commit().catch(() => {}); // the decision cannot be written: it waits, in doubt
    await flush(40);
    memory.clock.advance(100);
    await flush(40);
    memory.fs.crash('process');
    const reopened = await memory.open({ resolveInDoubt: () => 'commit' });
    await flush(40);
    expect(await readAll(reopened, 'readers', 'orders')).toEqual(['order']);
    await reopened.close();
  });

  it('asks the check-back only about what was in doubt at open, not a half transaction begun while recovery runs', async () => {
    // Found by the simulator (seed 104): recovery read the half transactions after waiting on the
    // partitions, took one begun meanwhile by this run for one in doubt, 'committed' it with no
    // partitions, and its timeout then aborted it.
    const memory = memoryFerry(12);
    await halfThenCrash(memory, 'order-1', 'old', 'process');
    const asked: string[] = [];
    const reopened = await memory.open({ resolveInDoubt: (id) => (asked.push(id), 'abort') });
    const fresh = await reopened.beginTransaction({ id: 'order-2' }); // while recovery waits on the partitions
    await fresh.publish('orders', { value: 'fresh' });
    await flush(40);
    expect(asked).toEqual(['order-1']);
    await fresh.commit();
    expect(await readAll(reopened, 'readers', 'orders')).toEqual(['fresh']);
    await reopened.close();
  });

  it('keeps a decision until every partition took it, when recovery could not list one of them', async () => {
    // Found by the simulator (fresh seed 197485826): a committed transaction's decision was applied
    // on the partitions recovery's listing showed and then forgotten; the one that had not answered
    // still held the input's ack prepared, and the sweep presumed it aborted, so the input was
    // processed again though its outputs were stored.
    const memory = memoryFerry(13);
    const phase = { now: 'idle' as Phase };
    const fs = holdingSyncs(memory.fs.processView(), '/topics/', () => phase.now === 'decided', (path) => {
      if (phase.now === 'committing' && path.includes('_transactions')) phase.now = 'decided';
    });
    const ferry = await memory.open({ fs });
    await ferry.createTopic('in');
    await ferry.createTopic('out', { partitions: 2 });
    await ferry.producer().publish('in', { value: 'input' });
    const d = (await ferry.consumer('work', { topics: ['in'], pollWaitMs: 10 }).next())!;
    phase.now = 'committing';
    void ferry
      .transaction((tx) => {
        tx.publish('out', { value: 'o1', key: 'a' });
        tx.publish('out', { value: 'o2', key: 'b' });
        tx.ack(d);
      })
      .catch(() => {});
    await flush(60);
    expect(phase.now).toBe('decided'); // the decision is durable, no partition's apply is
    memory.fs.crash('power');
    const reopened = await openMissingOneListing(memory, 'in/0', { transactionTimeoutMs: 1000 });
    await flush(40);
    memory.clock.advance(1500); // the sweep asks every partition again
    await flush(40);
    expect((await readAll(reopened, 'readers', 'out')).sort()).toEqual(['o1', 'o2']);
    expect(await readAll(reopened, 'work', 'in')).toEqual([]); // acked with its outputs
    await reopened.close();
  });

  it('applies the check-back\'s commit on a partition recovery could not list', async () => {
    // Found by the simulator (fresh seed 197477614): the check-back's 'commit' was sent to the
    // partitions the listing showed (none), the decision forgotten, and the sweep then found the
    // output prepared with no decision and aborted it.
    const memory = memoryFerry(14);
    await halfThenCrash(memory, 'order-9', 'order', 'power');
    const asked: string[] = [];
    const reopened = await openMissingOneListing(memory, 'orders/0', { transactionTimeoutMs: 1000, resolveInDoubt: (id) => (asked.push(id), 'commit') });
    await flush(40);
    expect(asked).toEqual(['order-9']);
    memory.clock.advance(1500); // the sweep asks every partition again
    await flush(40);
    expect(await readAll(reopened, 'readers', 'orders')).toEqual(['order']);
    await reopened.close();
  });

  it('acts on no decision whose record failed its sync, until the next open decides by what the disk kept', async () => {
    // The decision log's sync failed: the commit record is written but maybe not on disk, and
    // commit() rejects. The sweep (armed here by a listing that missed a partition) must not apply
    // that decision: a crash could then lose the record, and recovery would presume the rest of
    // the transaction aborted.
    const memory = memoryFerry(15);
    let failing = false;
    const fs = overrideHandles(memory.fs.processView(), '_transactions', 'sync', (h) => () => (failing ? Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })) : h.sync()));
    const ferry = await memory.open({ fs });
    await ferry.createTopic('in');
    await ferry.createTopic('out', { partitions: 2 });
    await ferry.createTopic('other');
    await ferry.close();
    const reopened = await openMissingOneListing(memory, 'other/0', { fs, transactionTimeoutMs: 1000 });
    await reopened.producer().publish('in', { value: 'input' });
    const d = (await reopened.consumer('work', { topics: ['in'], pollWaitMs: 10 }).next())!;
    failing = true;
    const committed = reopened.transaction((tx) => {
      tx.publish('out', { value: 'o1', key: 'a' });
      tx.publish('out', { value: 'o2', key: 'b' });
      tx.ack(d);
    });
    await expect(committed).rejects.toMatchObject({ code: expect.any(String) });
    memory.clock.advance(1500); // the sweep runs
    await flush(40);
    expect(await readAll(reopened, 'readers', 'out')).toEqual([]);
    memory.fs.crash('power');
    const third = await memory.open();
    await flush(40);
    const outcome = { outputs: (await readAll(third, 'readers2', 'out')).sort(), inputs: await readAll(third, 'work', 'in') };
    expect([ALL, NONE]).toContainEqual(outcome);
    await third.close();
  });
});
