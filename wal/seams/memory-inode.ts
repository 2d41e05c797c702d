// One file of the in-memory fault disk: what the page cache holds, what is on stable storage, and
// which pages differ. A power loss turns each dirty page into its old, new or torn version.
import type { Random } from './random.ts';

export const PAGE_BYTES = 4096;
export const SECTOR_BYTES = 512;

/** What one sync captured: page contents and the file length at the moment it was called. */
export interface SyncCapture {
  readonly length: number;
  readonly lengthVersion: number;
  readonly pages: Map<number, { version: number; bytes: Uint8Array }>;
}

function grow(buffer: Uint8Array, needed: number): Uint8Array {
  if (buffer.length >= needed) return buffer;
  const bigger = new Uint8Array(Math.max(needed, buffer.length * 2, 256));
  bigger.set(buffer);
  return bigger;
}

export class MemoryInode {
  /** Page cache contents; bytes past `length` are zero. */
  cache: Uint8Array = new Uint8Array(0);
  length = 0;
  /** Stable-storage contents. */
  durable: Uint8Array = new Uint8Array(0);
  durableLength = 0;
  /** Dirty page index -> write version, so a sync only cleans pages not rewritten since it began. */
  readonly dirty = new Map<number, number>();
  /** Version of each page (and of the length) on stable storage: an older sync finishing late never overwrites a newer one. */
  readonly #durableVersions = new Map<number, number>();
  #durableLengthVersion = 0;
  #lengthVersion = 0;
  #version = 0;

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, this.length - position));
    target.set(this.cache.subarray(position, position + n), targetOffset);
    return n;
  }

  write(bytes: Uint8Array, position: number): void {
    const end = position + bytes.length;
    this.cache = grow(this.cache, end);
    this.cache.set(bytes, position);
    this.#markDirty(position, end);
    if (end > this.length) {
      this.length = end;
      this.#lengthVersion = this.#version;
    }
  }

  truncate(length: number): void {
    if (length < this.length) this.cache.fill(0, length, this.length);
    else this.cache = grow(this.cache, length);
    const from = Math.min(length, this.length);
    this.#markDirty(from, Math.max(length, this.length, from + 1));
    this.length = length;
    this.#lengthVersion = this.#version;
    for (const page of [...this.dirty.keys()]) if (page * PAGE_BYTES > Math.max(length, this.durableLength)) this.dirty.delete(page);
  }

  #markDirty(from: number, to: number): void {
    const version = ++this.#version;
    for (let page = Math.floor(from / PAGE_BYTES); page * PAGE_BYTES < to; page++) this.dirty.set(page, version);
  }

  /** What an fdatasync called now would make durable. */
  capture(): SyncCapture {
    const pages = new Map<number, { version: number; bytes: Uint8Array }>();
    for (const [page, version] of this.dirty) {
      const start = page * PAGE_BYTES;
      pages.set(page, { version, bytes: this.cache.slice(start, start + PAGE_BYTES) });
    }
    return { length: this.length, lengthVersion: this.#lengthVersion, pages };
  }

  /** Completes a sync: the captured pages reach stable storage. */
  persist(capture: SyncCapture): void {
    const newLength = capture.lengthVersion >= this.#durableLengthVersion ? capture.length : this.durableLength;
    this.durable = grow(this.durable, Math.max(newLength, this.durableLength));
    for (const [page, { version, bytes }] of capture.pages) {
      if (version < (this.#durableVersions.get(page) ?? 0)) continue;
      const start = page * PAGE_BYTES;
      this.durable = grow(this.durable, start + bytes.length);
      this.durable.set(bytes, start);
      this.#durableVersions.set(page, version);
    }
    this.#durableLengthVersion = Math.max(this.#durableLengthVersion, capture.lengthVersion);
    this.durableLength = newLength;
    this.durable.fill(0, newLength);
    this.#clean(capture);
  }

  /**
   * A failed sync as Linux does it (the "fsyncgate" behaviour): the pages are marked clean although
   * they never reached the disk, so a later sync would succeed without writing them.
   */
  failSync(capture: SyncCapture): void {
    this.#clean(capture);
  }

  #clean(capture: SyncCapture): void {
    for (const [page, { version }] of capture.pages) if (this.dirty.get(page) === version) this.dirty.delete(page);
  }

  /**
   * A power loss: only stable storage survives, with each dirty page kept, lost, or torn sector
   * by sector; a file that grew may come back at its old or new length (the size is metadata).
   */
  losePower(random: Random): void {
    const image = grow(this.durable.slice(0, this.durableLength), Math.max(this.length, this.durableLength));
    for (const page of this.dirty.keys()) {
      const start = page * PAGE_BYTES;
      const roll = random.next();
      if (roll < 0.4) continue; // lost: the old contents stay
      for (let sector = start; sector < start + PAGE_BYTES; sector += SECTOR_BYTES) {
        // A sector is written atomically (old or new), as disks guarantee for their atomic write
        // unit; garbage shows up only in sectors that held no synced data (stale blocks exposed).
        const kinds = sector >= this.durableLength ? ['old', 'new', 'garbage'] : ['old', 'new'];
        const kind = roll < 0.75 ? 'new' : kinds[random.int(kinds.length)];
        const end = Math.min(sector + SECTOR_BYTES, image.length);
        if (sector >= end) break;
        if (kind === 'new') image.set(this.cache.subarray(sector, end), sector);
        else if (kind === 'garbage') for (let i = sector; i < end; i++) image[i] = random.int(256);
      }
    }
    // The size is metadata: it may or may not have reached the disk.
    const length = this.length === this.durableLength ? this.length : random.chance(0.5) ? this.length : this.durableLength;
    this.cache = image.slice(0, Math.max(length, 0));
    this.cache = grow(this.cache, length);
    this.cache.fill(0, length);
    this.length = length;
    this.durable = this.cache.slice();
    this.durableLength = length;
    this.dirty.clear();
    this.#durableVersions.clear();
    this.#durableLengthVersion = this.#lengthVersion = this.#version;
  }

  /** Flips one bit of stable storage (and of the cache): media corruption. */
  flipBit(position: number, bit: number): void {
    if (position >= this.length) return;
    this.cache[position]! ^= 1 << bit;
    if (position < this.durableLength) this.durable[position]! ^= 1 << bit;
  }
}
