import { describe, expect, it } from 'vitest';
import { InvalidNameError } from './errors.ts';
import { checkName } from './names.ts';

describe('names', () => {
  it.each(['orders', 'orders.dlq', 'a-b_c.9', 'x'.repeat(200)])('accepts %s', (name) => {
    expect(checkName('topic', name)).toBe(name);
  });

  it.each([
    ['', 'it is empty'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['..', "it is the parent directory's name"],
    ['.', "it is the current directory's name"], // new-user trial: reported as "contains '..'"
    ['a..b', "'..'"],
    ['a\0b', 'NUL'],
    ['x'.repeat(201), 'it is 201 bytes long, more than 200'],
    ['é'.repeat(101), 'it is 202 bytes long, more than 200'],
    ['spaces here', "it contains ' ', a character other than"],
    ['a*b', "it contains '*', a character other than"],
    [42, 'it must be a string, not number'],
    [null, 'it must be a string, not null'],
  ])('rejects %j (%s)', (name, why) => {
    expect(() => checkName('topic', name)).toThrow(InvalidNameError);
    expect(() => checkName('topic', name)).toThrow(why);
  });
});
