// Command-line flags of `npm run sim` and `npm run mutants`: `--name value` pairs and bare
// switches, checked, so that a missing or mistyped value is an error, never NaN seeds.

/** The value after `--name`, or undefined when the flag is absent. */
export function stringFlag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

/** A non-negative integer flag (a seed, a count), `fallback` when absent. */
export function integerFlag(argv: readonly string[], name: string, fallback: number): number;
export function integerFlag(argv: readonly string[], name: string): number | undefined;
export function integerFlag(argv: readonly string[], name: string, fallback?: number): number | undefined {
  const text = stringFlag(argv, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer (got ${JSON.stringify(text)})`);
  return value;
}

export const hasFlag = (argv: readonly string[], name: string): boolean => argv.includes(`--${name}`);
