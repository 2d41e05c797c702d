// How an error message shows the value a caller passed, so '2' (a string) and 2 (a number), or
// 'undefined' and undefined, never read alike. Defined beside FerryError so every layer's
// validation uses the one form. Runs on any thread.
import { inspect, types } from 'node:util';

/** Longest text `showValue` returns: an error message quotes a value, it does not dump it. */
export const SHOWN_VALUE_MAX_CHARS = 100;

/** Longest string shown whole; a longer one shows its start and how many characters it has more. */
const SHOWN_STRING_MAX_CHARS = 40;

/**
 * The value as JavaScript would write it: strings quoted ('2'), numbers bare (2, NaN, -0),
 * `undefined`, `5n`, `[Function: f]`, an Error as `[TypeError: boom]`, objects and arrays in brief
 * ({ kind: 'linear' }), a long string as its start and the count of the rest, the whole cut to
 * SHOWN_VALUE_MAX_CHARS with '…'. Never throws and never runs the value's own code (no custom
 * inspect, no getters), whatever it is given.
 */
export function showValue(value: unknown): string {
  let text: string;
  try {
    // An Error as its name and message: inspect would print its whole stack, over many lines.
    if (types.isNativeError(value)) text = `[${String(value.name)}: ${String(value.message).split('\n', 1)[0]}]`;
    else text = inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY, compact: true, maxArrayLength: 10, maxStringLength: SHOWN_STRING_MAX_CHARS, customInspect: false, getters: false });
  } catch {
    text = '[a value that cannot be shown]'; // a revoked proxy, say
  }
  return text.length <= SHOWN_VALUE_MAX_CHARS ? text : `${text.slice(0, SHOWN_VALUE_MAX_CHARS - 1)}…`;
}
