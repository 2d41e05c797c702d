// The options of `delivery.nack()`, checked the same way by every backend's delivery: a refused
// nack changes nothing, so the message stays leased to the caller, who may nack again.
import { InvalidArgumentError, showValue } from '../wal/index.ts';
import { refuseUnknownOptions } from './option-names.ts';

const NACK_OPTIONS = ['delayMs', 'error', 'deadLetter'];

/** Why `options` is not a valid nack's (an unknown name, a bad delayMs or deadLetter), or undefined. */
export function nackOptionsError(options: unknown): InvalidArgumentError | undefined {
  if (options === undefined) return undefined;
  // What a catch block holds, passed as it is: its fields are not enumerable, so it would pass as {}.
  if (options instanceof Error) return new InvalidArgumentError(`nack takes options, not the error itself: d.nack({ error }) (got ${showValue(options)}); the message is still leased to you`);
  try {
    refuseUnknownOptions('nack options', options ?? undefined, NACK_OPTIONS);
  } catch (error) {
    return error as InvalidArgumentError;
  }
  if (options === null) return new InvalidArgumentError('nack options must be an object (got null)');
  const { delayMs, deadLetter } = options as { delayMs?: unknown; deadLetter?: unknown };
  if (delayMs !== undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
    return new InvalidArgumentError(`nack delayMs must be a finite number of ms, 0 or more (got ${showValue(delayMs)}); the message is still leased to you`);
  }
  if (deadLetter !== undefined && typeof deadLetter !== 'boolean') return new InvalidArgumentError(`nack deadLetter must be true or false (got ${showValue(deadLetter)}); the message is still leased to you`);
  return undefined;
}
