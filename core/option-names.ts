// Refuses option names nobody reads (a typo such as `maxDelivery` would otherwise be ignored
// silently). Runs wherever options are validated.
import { InvalidArgumentError, showValue } from '../wal/index.ts';

/** Throws INVALID_ARGUMENT naming every key of `options` that is not in `known`. */
export function refuseUnknownOptions(what: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object') throw new InvalidArgumentError(`${what} must be an object (got ${showValue(options)})`);
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`${what}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the known ones are ${known.join(', ')}`, { details: { unknown } });
  }
}
