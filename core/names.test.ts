import { describe, expect, it } from 'vitest';
import { InvalidNameError } from './errors.ts';
import { checkName } from './names.ts';

describe('names', () => {
  it.each(['orders', 'orders.dlq', 'a-b_c.9', 'x'.repeat(200)])('accepts %s', (name) => {
    expect(checkName('topic', name)).toBe(name);
  });

  it.each([
    ['', 'non-empty'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['..', "'..'"],
    ['a..b', "'..'"],
    ['a\0b', 'NUL'],
    ['x'.repeat(201), 'longer than 200'],
    ['spaces here', 'character other than'],
    [42, 'non-empty string'],
  ])('rejects %j (%s)', (name, why) => {
    expect(() => checkName('topic', name)).toThrow(InvalidNameError);
    expect(() => checkName('topic', name)).toThrow(why);
  });
});
