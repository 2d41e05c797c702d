// Persisted wall times and in-memory monotonic times convert into each other exactly, so a
// checkpoint taken without a clock step writes back the times replay read.
import { describe, expect, it } from 'vitest';
import { monoFromWall, wallFromMono } from './clock-reading.ts';

describe('clock readings', () => {
  const at = { wall: 1_700_000_000_000, mono: 12_345.678 }; // performance.now() has fractions

  it('a persisted wall time keeps its distance from now on the monotonic clock, and converts back exactly', () => {
    for (const wall of [1_700_000_000_000, 1_700_000_010_000, 1_699_999_990_000]) {
      expect(monoFromWall(at, wall) - at.mono).toBeCloseTo(wall - at.wall, 6);
      expect(wallFromMono(at, monoFromWall(at, wall))).toBe(wall);
    }
  });

  it('wall time 0 ("no delay") is due since always, and persists as 0 again', () => {
    expect(monoFromWall(at, 0)).toBe(Number.NEGATIVE_INFINITY);
    expect(wallFromMono(at, Number.NEGATIVE_INFINITY)).toBe(0);
  });

  it('persists whole milliseconds', () => {
    expect(wallFromMono(at, at.mono + 1000.4)).toBe(at.wall + 1000);
  });
});
