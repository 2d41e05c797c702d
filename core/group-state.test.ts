import { describe, expect, it } from 'vitest';
import { GroupState } from './group-state.ts';

describe('group state', () => {
  it('keeps a message made due by a later clock reading than a fetch\'s: it is delivered once its time comes (a lease expiry charged during a fetch hung for good)', () => {
    const g = new GroupState('g', 'none', 0);
    const p = g.track(0, undefined, Number.NEGATIVE_INFINITY, 100)!;
    expect(g.takeReady(100, 1)).toEqual([p]);
    g.lease(p, 'c', 1, '1.1', 100, 300, 1_000);
    // The fetch read the clock at 400; its expiry pass, a moment later, charged the attempt and
    // scheduled the retry at once (due 400.5, "now" 400.5): ready, but not yet for the fetch.
    g.fail(p, 1, 400.5, 'lease expired before ack', 400.5);
    expect(g.takeReady(400, 1)).toEqual([]);
    // Before the fix the message had left the ready queue for nowhere: never delivered again.
    g.expire(401);
    expect(g.takeReady(401, 1)).toEqual([p]);
  });
});
