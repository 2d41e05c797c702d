// Topic and group names become directory names, so they must never be paths.
import { InvalidNameError } from './errors.ts';

const MAX_NAME_BYTES = 200;
const ALLOWED = /^[A-Za-z0-9._-]+$/;

/** Throws InvalidNameError unless `name` is safe to use as a single directory name. */
export function checkName(kind: 'topic' | 'group' | 'producer' | 'transaction', name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidNameError(kind, name, 'it must be a non-empty string');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidNameError(kind, name, `it is longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes('\0')) throw new InvalidNameError(kind, name, 'it contains a NUL byte');
  if (name.includes('/') || name.includes('\\')) throw new InvalidNameError(kind, name, 'it contains a path separator');
  if (name === '.' || name === '..' || name.includes('..')) throw new InvalidNameError(kind, name, "it contains '..'");
  if (!ALLOWED.test(name)) throw new InvalidNameError(kind, name, 'it contains a character other than letters, digits, ".", "_" or "-"');
  return name;
}
