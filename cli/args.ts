// Reading the `ferry` command line: node:util parseArgs (built in, strict: an unknown flag is a
// usage error), and the few value shapes the commands take (offsets, times, positions).
import { parseArgs } from 'node:util';
import type { Backoff, GroupPosition } from '../index.ts';

/** A usage error: the message says what was wrong; the command's help follows it. Exit code 2. */
export class UsageError extends Error {}

/** A flag a command takes. */
export interface Flag {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly help: string;
}

/** Parses `argv` for a command with `positionals` (names, in order) and `flags`. */
export function parse(argv: readonly string[], positionals: readonly string[], flags: Readonly<Record<string, Flag>>): { args: Record<string, string>; flags: Record<string, string | boolean | undefined> } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, { type: f.type, ...(f.short ? { short: f.short } : {}) }])) });
  } catch (error) {
    throw new UsageError(usageMessage(error, flags));
  }
  if (parsed.positionals.length < positionals.length) throw new UsageError(`missing ${positionals.slice(parsed.positionals.length).map((p) => `<${p}>`).join(' ')}`);
  if (parsed.positionals.length > positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.length])}`);
  const args = Object.fromEntries(positionals.map((name, i) => [name, parsed.positionals[i]!]));
  return { args, flags: parsed.values as Record<string, string | boolean | undefined> };
}

/**
 * parseArgs's own words for an unknown flag tell a user to put it after `--` as a positional
 * (trial of the packed package: `alter-topic --partitions 4`); say instead that the command has
 * no such flag and which it has.
 */
function usageMessage(error: unknown, flags: Readonly<Record<string, Flag>>): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(message)?.[1] : undefined;
  if (unknown === undefined) return message;
  const known = Object.keys(flags).map((f) => `--${f}`);
  return `unknown flag ${unknown}; ${known.length > 0 ? `this command takes ${known.join(', ')} and --help` : 'this command takes no flags but --help'}`;
}

/** A whole number from 0 (an offset, a partition, a limit). */
export function wholeNumber(what: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${what} must be a whole number from 0 (got ${JSON.stringify(text)})`);
  return n;
}

/** A time: ISO 8601 (`2026-12-01T05:00:00Z`) or ms since the epoch. */
export function time(what: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${what} must be a time, ISO 8601 (2026-12-01T05:00:00Z) or ms since the epoch (got ${JSON.stringify(text)})`);
  return ms;
}

/** `--from`: a number is an offset, anything else a time. */
export function offsetOrTime(text: string): number | { time: number } {
  return /^\d+$/.test(text) ? wholeNumber('--from', text) : { time: time('--from', text) };
}

/** `--to` of reset-group: earliest, latest, offset:N or time:T. */
export function groupPosition(text: string): GroupPosition {
  if (text === 'earliest' || text === 'latest') return text;
  if (text.startsWith('offset:')) return { offset: wholeNumber('--to offset', text.slice('offset:'.length)) };
  if (text.startsWith('time:')) return { time: time('--to time', text.slice('time:'.length)) };
  throw new UsageError(`--to must be earliest, latest, offset:N or time:T (got ${JSON.stringify(text)})`);
}

/** `--backoff` of alter-topic: fixed:MS or exponential:INITIAL_MS:MAX_MS. */
export function backoff(text: string): Backoff {
  const [kind, ...ms] = text.split(':');
  if (kind === 'fixed' && ms.length === 1) return { kind: 'fixed', delayMs: wholeNumber('--backoff delay', ms[0]!) };
  if (kind === 'exponential' && ms.length === 2) return { kind: 'exponential', initialMs: wholeNumber('--backoff initial', ms[0]!), maxMs: wholeNumber('--backoff max', ms[1]!) };
  throw new UsageError(`--backoff must be fixed:MS or exponential:INITIAL_MS:MAX_MS (got ${JSON.stringify(text)})`);
}
