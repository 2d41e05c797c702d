import { describe, expect, it } from 'vitest';
import { GroupState } from './group-state.ts';

describe('group state', () => {
  it('keeps a message made due by a later clock reading than a fetch\'s: it is delivered once its time comes (a lease expiry charged during a fetch hung for good)', () => {
    const g = new GroupState('g', 'none', 0);
    const p = g.track(0, undefined, Number.NEGATIVE_INFINITY, 100)!;
    expect(g.takeReady(100, 1)).toEqual([p]);
    g.lease(p, 'c', 1, 100, 300, 1_000);
    // The fetch read the clock at 400; its expiry pass, a moment later, charged the attempt and
    // scheduled the retry at once (due 400.5, "now" 400.5): ready, but not yet for the fetch.
    g.fail(p, 1, 400.5, 'lease expired before ack', 400.5);
    expect(g.takeReady(400, 1)).toEqual([]);
    // Before the fix the message had left the ready queue for nowhere: never delivered again.
    g.expire(401);
    expect(g.takeReady(401, 1)).toEqual([p]);
  });

  it('a lease started after its fetch runs a full lease from the start, to the millisecond (it ran short by up to 1/64 before)', () => {
    const g = new GroupState('g', 'none', 0);
    const p = g.track(0, undefined, Number.NEGATIVE_INFINITY, 0)!;
    g.takeReady(0, 1);
    g.lease(p, 'c', 1, 0, 1_000, 0); // fetched at 0: unstarted until 1000
    g.start(p, 10, 1_000); // a handler took it 10 ms later: runs until 1010
    expect(g.expire(1_000)).toEqual([]); // before the fix it expired here, 990 ms after the start
    expect(g.expire(1_009)).toEqual([]);
    expect(g.expire(1_010)).toEqual([p]);
  });

  it('a started lease still expires after the lease heap was compacted (its fetch entry is the one that makes its new entry)', () => {
    const g = new GroupState('g', 'none', 0);
    const [p, q] = [0, 1].map((o) => g.track(o, undefined, Number.NEGATIVE_INFINITY, 0)!);
    g.takeReady(0, 2);
    g.lease(p!, 'c', 1, 0, 1_000, 0); // its fetch's entry: 1000
    g.lease(q!, 'c', 2, 0, 1_000, 0);
    g.start(p!, 10, 1_000); // runs until 1010, without an entry of its own
    for (let i = 0; i < 1_100; i++) g.extend(q!, 0, 5_000 + i); // past the heap's limit: compacted
    expect(g.expire(1_009)).toEqual([]);
    expect(g.expire(1_010)).toEqual([p]);
  });

  // A redelivery waited behind every fresh message scanned before it fell due (seconds behind a
  // backlog with a 50 ms backoff, in the demo): it goes first now, as a broker requeues at the head.
  it('hands out a redelivery that fell due before the fresh backlog, and the fresh ones in order after it', () => {
    const g = new GroupState('g', 'none', 0);
    const ps = Array.from({ length: 5 }, (_, i) => g.track(i, undefined, Number.NEGATIVE_INFINITY, 0)!);
    expect(g.takeReady(0, 1)).toEqual([ps[0]]);
    g.lease(ps[0]!, 'c', 1, 0, 1_000, 0);
    g.fail(ps[0]!, 1, 5, 'nack', 1); // due at 5
    g.expire(5);
    expect(g.takeReady(5, 2)).toEqual([ps[0], ps[1]]);
    expect(g.takeReady(5, 10)).toEqual([ps[2], ps[3], ps[4]]);
  });
});
