// A binary min-heap ordered by (at, seq). Used for retry, delay and lease deadlines; entries are
// validated when popped (lazy deletion), so cancelling is O(1).

export interface HeapEntry {
  readonly at: number;
  readonly seq: number;
}

/** Earliest-first heap of timed entries; ties broken by insertion sequence, so order is deterministic. */
export class MinHeap<T extends HeapEntry> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const child = items[i]!;
      if (!this.#less(child, items[parent]!)) break;
      items[i] = items[parent]!;
      items[parent] = child;
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(items[l]!, items[m]!)) m = l;
        if (r < items.length && this.#less(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        const moved = items[i]!;
        items[i] = items[m]!;
        items[m] = moved;
        i = m;
      }
    }
    return top;
  }

  /** Drops entries for which `keep` is false (to bound a heap full of stale entries). */
  compact(keep: (item: T) => boolean): void {
    const kept = this.#items.filter(keep);
    this.#items = [];
    for (const item of kept) this.push(item);
  }

  #less(a: T, b: T): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}
