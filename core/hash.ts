// Stable hashes: key -> partition (must never change across versions), name -> producer id.
import { createHash } from 'node:crypto';

/** FNV-1a over the UTF-16 code units of `text`, as an unsigned 32-bit integer. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The partition a key belongs to. */
export function partitionOf(key: string, partitions: number): number {
  return hash32(key) % partitions;
}

/** A 48-bit numeric id for a producer name (what the log's header stores). */
export function producerNumber(name: string): number {
  return createHash('sha256').update(name).digest().readUIntLE(0, 6) || 1;
}
