// Where the simulator flips a bit to model media corruption of synced data: a batch of a
// partition's log that the log itself can prove was synced, either in a sealed segment or in the
// active one before a later batch whose durable-end stamp covers it. (Damage to the last,
// unproven batch looks exactly like a torn write and is cut away by design: not chosen.)
import { decodeHeader, HEADER_BYTES } from '../../wal/batch-format.ts';
import type { Random } from '../../wal/index.ts';
import type { MemoryFileSystem } from '../../wal/fault-disk.ts';

export interface FlipTarget {
  readonly path: string;
  readonly position: number;
  readonly bit: number;
}

interface Batch {
  readonly at: number;
  readonly length: number;
  readonly end: number;
  readonly durableEnd: number;
}

function batchesOf(fs: MemoryFileSystem, path: string): Batch[] {
  const size = fs.fileSizes(path)!.durable;
  const bytes = new Uint8Array(size);
  const handle = fs.open(path, 'read');
  try {
    handle.read(bytes, 0, size, 0);
  } finally {
    handle.close();
  }
  const out: Batch[] = [];
  for (let at = 0; at + HEADER_BYTES <= size; ) {
    const h = decodeHeader(bytes, at);
    if (h.length < HEADER_BYTES || at + h.length > size) break;
    out.push({ at, length: h.length, end: h.baseOffset + h.recordCount, durableEnd: h.durableEnd });
    at += h.length;
  }
  return out;
}

/** A bit in a batch the log can prove was synced, in partition directory `dir`; none if there is no such batch. */
export function chooseFlip(fs: MemoryFileSystem, dir: string, random: Random): FlipTarget | undefined {
  const segments = fs.list(dir).filter((f) => f.endsWith('.log')).sort();
  const candidates: { path: string; batch: Batch }[] = [];
  segments.forEach((name, i) => {
    const path = `${dir}/${name}`;
    const batches = batchesOf(fs, path);
    const sealed = i < segments.length - 1;
    batches.forEach((b, j) => {
      if (sealed || batches.slice(j + 1).some((later) => later.durableEnd >= b.end)) candidates.push({ path, batch: b });
    });
  });
  if (candidates.length === 0) return undefined;
  const { path, batch } = candidates[random.int(candidates.length)]!;
  return { path, position: batch.at + random.int(batch.length), bit: random.int(8) };
}
