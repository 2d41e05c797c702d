// The deliveries a consumer holds, as an intrusive doubly linked list: adding and removing one
// costs two pointer writes, where a Set hashes the object and rehashes as the window fills and
// empties (a Set's delete showed as 4% of the consume path's CPU and its shrinking as garbage).

/** What a member carries: its neighbours in the one list it may be on. */
export interface HeldLink<T> {
  heldPrev: T | undefined;
  heldNext: T | undefined;
  /** On the list now. */
  isHeld: boolean;
}

/** An insertion-ordered list of members; each member is on at most one list at a time. */
export class HeldList<T extends HeldLink<T>> {
  #head: T | undefined;
  #tail: T | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `item` at the end (no-op if it is held already). */
  add(item: T): void {
    if (item.isHeld) return;
    item.isHeld = true;
    item.heldPrev = this.#tail;
    item.heldNext = undefined;
    if (this.#tail) this.#tail.heldNext = item;
    else this.#head = item;
    this.#tail = item;
    this.#size++;
  }

  /** Removes `item`; false if it was not held. */
  delete(item: T): boolean {
    if (!item.isHeld) return false;
    const { heldPrev: prev, heldNext: next } = item;
    if (prev) prev.heldNext = next;
    else this.#head = next;
    if (next) next.heldPrev = prev;
    else this.#tail = prev;
    item.heldPrev = item.heldNext = undefined;
    item.isHeld = false;
    this.#size--;
    return true;
  }

  /** Calls `visit` for each member in order; `visit` may remove the member it is given. */
  forEach(visit: (item: T) => void): void {
    for (let item = this.#head; item; ) {
      const next = item.heldNext;
      visit(item);
      item = next;
    }
  }

  /** The members now, as an array (for loops that change the list as they go). */
  toArray(): T[] {
    const out: T[] = [];
    for (let item = this.#head; item; item = item.heldNext) out.push(item);
    return out;
  }
}
