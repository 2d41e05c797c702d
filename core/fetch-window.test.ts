// When a consumer may fetch (issue 11): acks waiting for the disk no longer pause fetching after
// one window, but after four, or after one window once their messages reach SETTLING_BYTES.
import { describe, expect, it } from 'vitest';
import { mayFetch, SETTLING_BYTES } from './fetch-window.ts';

describe('mayFetch', () => {
  it('fetches once a quarter of the window is free, or any room once the buffer ran dry', () => {
    expect(mayFetch(64, 48, 10, 0, 0)).toBe(true); // 16 free: a quarter
    expect(mayFetch(64, 49, 10, 0, 0)).toBe(false); // 15 free, something buffered: wait for a bigger fetch
    expect(mayFetch(64, 63, 0, 0, 0)).toBe(true); // the buffer ran dry: any room
    expect(mayFetch(64, 64, 0, 0, 0)).toBe(false); // no room at all
  });

  it('goes on fetching while up to four windows of acks wait for the disk (one window tied the rate to an fsync round trip)', () => {
    expect(mayFetch(64, 0, 0, 64, 64 * 100)).toBe(true); // one window of small messages waiting: before, this paused
    expect(mayFetch(64, 0, 0, 255, 255 * 100)).toBe(true);
    expect(mayFetch(64, 0, 0, 256, 256 * 100)).toBe(false); // four windows
  });

  it('past one window, pauses once the messages whose acks wait reach SETTLING_BYTES (they keep their fetch buffers)', () => {
    expect(mayFetch(64, 0, 0, 63, SETTLING_BYTES * 2)).toBe(true); // within one window, whatever their size
    expect(mayFetch(64, 0, 0, 64, SETTLING_BYTES)).toBe(false);
    expect(mayFetch(64, 0, 0, 64, SETTLING_BYTES - 1)).toBe(true);
  });
});
