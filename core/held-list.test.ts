import { describe, expect, it } from 'vitest';
import { HeldList, type HeldLink } from './held-list.ts';

class Item implements HeldLink<Item> {
  heldPrev: Item | undefined;
  heldNext: Item | undefined;
  isHeld = false;
  constructor(readonly n: number) {}
}

const ids = (list: HeldList<Item>) => list.toArray().map((i) => i.n);

describe('HeldList', () => {
  it('keeps insertion order through removals at the head, middle and tail', () => {
    const list = new HeldList<Item>();
    const items = [0, 1, 2, 3, 4].map((n) => new Item(n));
    for (const i of items) list.add(i);
    expect(list.delete(items[0]!)).toBe(true);
    expect(list.delete(items[2]!)).toBe(true);
    expect(list.delete(items[4]!)).toBe(true);
    expect(ids(list)).toEqual([1, 3]);
    expect(list.size).toBe(2);
    list.add(items[0]!);
    expect(ids(list)).toEqual([1, 3, 0]);
  });

  it('ignores a second add and a delete of a member not on the list', () => {
    const list = new HeldList<Item>();
    const a = new Item(1);
    list.add(a);
    list.add(a);
    expect(list.size).toBe(1);
    expect(list.delete(a)).toBe(true);
    expect(list.delete(a)).toBe(false);
    expect(list.size).toBe(0);
    expect(ids(list)).toEqual([]);
  });

  it('lets forEach remove the member it visits', () => {
    const list = new HeldList<Item>();
    const items = [0, 1, 2, 3].map((n) => new Item(n));
    for (const i of items) list.add(i);
    const seen: number[] = [];
    list.forEach((i) => {
      seen.push(i.n);
      if (i.n % 2 === 0) list.delete(i);
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(ids(list)).toEqual([1, 3]);
  });
});
