// The command-line flags of `npm run sim` and `npm run mutants` (issue 9: a missing --runs once
// read process.argv[0] as the count and ran NaN seeds).
import { describe, expect, it } from 'vitest';
import { hasFlag, integerFlag, stringFlag } from './flags.ts';

const argv = ['/usr/bin/node', 'props/mutants/run.ts', '--from', '12', '--fresh', '--path', '0:1'];

describe('command-line flags', () => {
  it('gives the default for an absent flag, never the words around it', () => {
    expect(integerFlag(argv, 'runs', 2000)).toBe(2000);
    expect(integerFlag(argv, 'seed')).toBeUndefined();
    expect(integerFlag(argv, 'from', 1)).toBe(12);
    expect(stringFlag(argv, 'path')).toBe('0:1');
    expect(hasFlag(argv, 'fresh')).toBe(true);
    expect(hasFlag(argv, 'keep-going')).toBe(false);
  });

  it('refuses a value that is not a count, and a flag without its value', () => {
    expect(() => integerFlag(['--runs', 'many'], 'runs', 1)).toThrow('--runs must be a non-negative integer');
    expect(() => integerFlag(['--runs', '-3'], 'runs', 1)).toThrow('--runs must be a non-negative integer');
    expect(() => integerFlag(['--runs'], 'runs', 1)).toThrow('--runs needs a value');
    expect(() => stringFlag(['--from', '--fresh'], 'from')).toThrow('--from needs a value');
  });
});
