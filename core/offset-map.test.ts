import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OffsetMap } from './offset-map.ts';

describe('OffsetMap', () => {
  it('agrees with a Map under any sequence of sets and deletes (sizes, lookups, entries)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant<'set'>('set'), offset: fc.nat({ max: 5000 }), value: fc.integer() }),
      fc.record({ kind: fc.constant<'delete'>('delete'), offset: fc.nat({ max: 5000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.nat({ max: 2 ** 40 }), (ops, base) => {
        const map = new OffsetMap<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          const offset = base + o.offset;
          if (o.kind === 'set') {
            map.set(offset, o.value);
            model.set(offset, o.value);
          } else expect(map.delete(offset)).toBe(model.delete(offset));
          expect(map.size).toBe(model.size);
          expect(map.get(offset)).toBe(model.get(offset));
          expect(map.has(offset)).toBe(model.has(offset));
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0]);
        expect([...map].sort((a, b) => a[0] - b[0])).toEqual(sorted);
        expect([...map.keys()].sort((a, b) => a - b)).toEqual(sorted.map(([k]) => k));
        expect([...map.values()].length).toBe(model.size);
      }),
    );
  });

  it('lets a loop delete while it iterates', () => {
    const map = new OffsetMap<string>();
    for (let o = 1000; o < 3100; o++) map.set(o, `v${o}`);
    for (const [offset] of map) if (offset % 2 === 0) map.delete(offset);
    expect(map.size).toBe(1050);
    expect(map.get(1001)).toBe('v1001');
    expect(map.get(1002)).toBeUndefined();
  });

  it('does not visit offsets of a chunk emptied and reused during the iteration', () => {
    const map = new OffsetMap<string>();
    map.set(0, 'a');
    map.set(5000, 'b');
    const seen: number[] = [];
    for (const [offset] of map) {
      seen.push(offset);
      if (offset === 0) {
        map.delete(5000); // its chunk's slots become the spare...
        map.set(9000, 'c'); // ...and serve this new chunk
      }
    }
    expect(seen).toEqual([0]);
    expect([...map.keys()].sort((a, b) => a - b)).toEqual([0, 9000]);
  });
});
