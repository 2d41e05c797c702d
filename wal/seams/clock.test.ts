// The manual clock's two readings: time passing (advance) moves both, a clock step (jump) moves
// only the wall reading, and timers run on the monotonic one, as Node's do.
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';

describe('ManualClock', () => {
  it('advance moves wall and monotonic time alike; jump steps the wall clock only', () => {
    const clock = new ManualClock(1_000_000, 5);
    clock.advance(100);
    expect([clock.now(), clock.monotonicNow()]).toEqual([1_000_100, 105]);
    clock.jump(-60_000);
    clock.jump(10_000);
    expect([clock.now(), clock.monotonicNow()]).toEqual([950_100, 105]);
  });

  it('timers fire after their delay of monotonic time, whatever the wall clock did', () => {
    const clock = new ManualClock(1_000_000);
    const fired: number[] = [];
    clock.setTimer(100, () => fired.push(clock.monotonicNow()));
    clock.jump(10_000);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.jump(-20_000);
    clock.advance(1);
    expect(fired).toEqual([100]);
    expect(clock.now()).toBe(1_000_000 + 10_000 - 20_000 + 100);
  });

  it('advanceLate fires due timers late: both readings already past their time', () => {
    const clock = new ManualClock(1_000);
    const seen: [number, number][] = [];
    clock.setTimer(10, () => seen.push([clock.now(), clock.monotonicNow()]));
    clock.advanceLate(500);
    expect(seen).toEqual([[1_500, 500]]);
  });
});
