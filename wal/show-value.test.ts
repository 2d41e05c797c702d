import { describe, expect, it } from 'vitest';
import { SHOWN_VALUE_MAX_CHARS, showValue } from './show-value.ts';

describe('showValue', () => {
  it.each<[unknown, string]>([
    ['2', "'2'"],
    [2, '2'],
    ['undefined', "'undefined'"],
    [undefined, 'undefined'],
    [null, 'null'],
    [Number.NaN, 'NaN'],
    [-0, '-0'],
    [5n, '5n'],
    [true, 'true'],
    ["it's", '"it\'s"'],
    ['a\nb', "'a\\nb'"],
    [{ kind: 'linear' }, "{ kind: 'linear' }"],
    [[1, '1'], "[ 1, '1' ]"],
  ])('shows %o as %s', (value, shown) => {
    expect(showValue(value)).toBe(shown);
  });

  it('shows an Error by its name and first line of message, not its stack', () => {
    expect(showValue(new TypeError('boom\nmore'))).toBe('[TypeError: boom]');
  });

  it('shows a string and the number it spells differently', () => {
    expect(showValue('42')).not.toBe(showValue(42));
  });

  it('shows the start of a long string with the count of the rest, and cuts any value to a bounded length', () => {
    expect(showValue('x'.repeat(300))).toBe(`'${'x'.repeat(40)}'... 260 more characters`);
    const deep = { a: 'y'.repeat(39), b: 'z'.repeat(39), c: Array.from({ length: 50 }, (_, i) => i) };
    const shown = showValue(deep);
    expect(shown.length).toBe(SHOWN_VALUE_MAX_CHARS);
    expect(shown.endsWith('…')).toBe(true);
  });

  it("never runs the value's own code nor throws, whatever it is given", () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const hostile = {
      [Symbol.for('nodejs.util.inspect.custom')]: () => {
        throw new Error('custom inspect ran');
      },
      get g(): never {
        throw new Error('getter ran');
      },
    };
    for (const value of [circular, revoked.proxy, hostile, Object.create(null), Symbol('s'), () => 1]) expect(() => showValue(value)).not.toThrow();
    expect(showValue(() => 1)).toContain('Function');
  });
});
