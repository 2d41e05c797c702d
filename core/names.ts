// Topic and group names become directory names, so they must never be paths. Each refusal names
// the one rule the name breaks, checked from the most basic (a string) to the most specific.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { InvalidNameError } from './errors.ts';

const MAX_NAME_BYTES = 200;
const ALLOWED = /^[A-Za-z0-9._-]+$/;
const NOT_ALLOWED = /[^A-Za-z0-9._-]/u;

/** Throws InvalidNameError unless `name` is safe to use as a single directory name. */
export function checkName(kind: 'topic' | 'group' | 'producer' | 'transaction', name: unknown): string {
  if (typeof name !== 'string') throw new InvalidNameError(kind, name, `it must be a string, not ${name === null ? 'null' : typeof name}`);
  if (name.length === 0) throw new InvalidNameError(kind, name, 'it is empty');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidNameError(kind, name, `it is ${Buffer.byteLength(name)} bytes long, more than ${MAX_NAME_BYTES}`);
  if (name.includes('\0')) throw new InvalidNameError(kind, name, 'it contains a NUL byte');
  if (name.includes('/') || name.includes('\\')) throw new InvalidNameError(kind, name, 'it contains a path separator');
  if (name === '.' || name === '..') throw new InvalidNameError(kind, name, `it is ${name === '.' ? 'the current' : 'the parent'} directory's name`);
  if (name.includes('..')) throw new InvalidNameError(kind, name, "it contains '..'");
  if (!ALLOWED.test(name)) throw new InvalidNameError(kind, name, `it contains ${showValue(NOT_ALLOWED.exec(name)![0])}, a character other than letters, digits, '.', '_' or '-'`);
  return name;
}

/** Throws unless `topics` is a non-empty array of valid topic names (`what` names the option). */
export function checkTopicNames(what: string, topics: unknown): readonly string[] {
  if (!Array.isArray(topics)) throw new InvalidArgumentError(`${what} must be an array of topic names, e.g. ['orders'] (got ${showValue(topics)})`);
  if (topics.length === 0) throw new InvalidArgumentError(`${what} must list at least one topic (got [])`);
  for (const topic of topics) checkName('topic', topic);
  return topics as readonly string[];
}
