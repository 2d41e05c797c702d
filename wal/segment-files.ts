// Names of the files in a log directory: segments are named by their 20-digit base offset.
import { join } from 'node:path';

const SEGMENT_RE = /^(\d{20})\.log$/;

export const LOCK_FILE = 'LOCK';

export function segmentName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export function segmentPath(dir: string, baseOffset: number): string {
  return join(dir, segmentName(baseOffset));
}

export function indexPath(dir: string, baseOffset: number): string {
  return join(dir, `${String(baseOffset).padStart(20, '0')}.index`);
}

/** Where an index file is written before it is renamed into place (so it is replaced whole or not at all). */
export function indexTempPath(indexFile: string): string {
  return `${indexFile}${INDEX_TEMP_SUFFIX}`;
}

const INDEX_TEMP_SUFFIX = '.tmp';

/** Index temp files among `names`: a crash left them mid-save; nothing reads them. */
export function indexTempNames(names: readonly string[]): string[] {
  return names.filter((name) => name.endsWith(`.index${INDEX_TEMP_SUFFIX}`));
}

/** Base offsets of the segment files among `names`, ascending. */
export function segmentBases(names: readonly string[]): number[] {
  const bases: number[] = [];
  for (const name of names) {
    const match = SEGMENT_RE.exec(name);
    if (match) bases.push(Number(match[1]));
  }
  return bases.sort((a, b) => a - b);
}
