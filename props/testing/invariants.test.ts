// The invariant helpers over hand-made histories (issue 16): each passes a history that keeps its
// promise and fails, naming the message, one that breaks it.
import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from './history.ts';
import { expectEffectsExactlyOnce, expectHandledAtLeastOnce, expectKeyOrder, expectNoDeadLetterWithoutFailure } from './index.ts';

function history(build: (h: HistoryRecorder) => void): HistoryRecorder {
  const h = new HistoryRecorder(() => 0);
  h.joined('g', 't');
  build(h);
  return h;
}

describe('expectHandledAtLeastOnce', () => {
  it('passes when every confirmed message was acked or dead-lettered, and names the one that was neither', () => {
    const base = (h: HistoryRecorder) => {
      h.confirmed('t', 0, 0, 'a', undefined);
      h.confirmed('t', 0, 1, 'a', undefined);
      h.settled('ack', 'g', 't', 0, 0, 1);
    };
    expect(() => expectHandledAtLeastOnce(history((h) => (base(h), h.deadLettered({ group: 'g', topic: 't', partition: 0, offset: 1, attempts: 3, lastError: 'x' }))), { group: 'g' })).not.toThrow();
    expect(() => expectHandledAtLeastOnce(history(base), { group: 'g' })).toThrow(/t\/0@1 \(key a\), confirmed at 0 ms, was never acked nor dead-lettered/);
    // An ack by another group does not count.
    expect(() => expectHandledAtLeastOnce(history((h) => (base(h), h.settled('ack', 'other', 't', 0, 1, 1))), { group: 'g' })).toThrow(/t\/0@1/);
  });

  it('refuses a group that never joined', () => {
    expect(() => expectHandledAtLeastOnce(history(() => {}), { group: 'nobody' })).toThrow(/group "nobody" never joined/);
  });
});

describe('expectEffectsExactlyOnce', () => {
  it('fails on an effect twice for a key, and on an expected key that never happened', () => {
    const twice = history((h) => (h.effect('charge', 'p1', null, 1), h.effect('charge', 'p1', null, 2), h.effect('email', 'p1', null, 1)));
    expect(() => expectEffectsExactlyOnce(twice, { effect: 'charge' })).toThrow(/charge "p1" happened 2 times \(at 0 ms in run 1, at 0 ms in run 2\)/);
    expect(() => expectEffectsExactlyOnce(twice, { effect: 'email', keys: ['p1'] })).not.toThrow();
    expect(() => expectEffectsExactlyOnce(twice, { effect: 'email', keys: ['p1', 'p2'] })).toThrow(/email "p2" never happened/);
  });
});

describe('expectKeyOrder', () => {
  it('passes redeliveries of an earlier message, and fails when a later message of the key is first acked before it', () => {
    const inOrder = history((h) => {
      h.delivered('g', 't', 0, 0, 'a', 1, 1);
      h.delivered('g', 't', 0, 0, 'a', 2, 1); // a redelivery
      h.settled('ack', 'g', 't', 0, 0, 1);
      h.delivered('g', 't', 0, 1, 'a', 1, 1);
      h.settled('ack', 'g', 't', 0, 1, 1);
      h.settled('ack', 'g', 't', 0, 0, 1); // a second ack of 0 (stale) is not a first ack
    });
    expect(() => expectKeyOrder(inOrder, { group: 'g' })).not.toThrow();
    const overtaken = history((h) => {
      h.delivered('g', 't', 0, 0, 'a', 1, 1);
      h.delivered('g', 't', 0, 1, 'a', 1, 1);
      h.delivered('g', 't', 0, 2, 'b', 1, 1);
      h.settled('ack', 'g', 't', 0, 1, 1);
      h.settled('ack', 'g', 't', 0, 2, 1);
      h.settled('ack', 'g', 't', 0, 0, 1);
    });
    expect(() => expectKeyOrder(overtaken, { group: 'g' })).toThrow(/t\/0 key "a": offset 0 was first acked after offset 1/);
  });
});

describe('expectNoDeadLetterWithoutFailure', () => {
  it('passes a dead letter its handler failed, and fails one only its leases ran out on', () => {
    const failed = history((h) => (h.settled('nack', 'g', 't', 0, 0, 1), h.deadLettered({ group: 'g', topic: 't', partition: 0, offset: 0, attempts: 3, lastError: 'boom' })));
    expect(() => expectNoDeadLetterWithoutFailure(failed)).not.toThrow();
    const timedOut = history((h) => h.deadLettered({ group: 'g', topic: 't', partition: 0, offset: 0, attempts: 3, lastError: null }));
    expect(() => expectNoDeadLetterWithoutFailure(timedOut, { group: 'g' })).toThrow(/t\/0@0 was dead-lettered for g after 3 attempts, but no handler ever failed it/);
    expect(() => expectNoDeadLetterWithoutFailure(timedOut, { group: 'other' })).not.toThrow();
  });
});
