// Every error class the package exports crosses threads as itself (issue 9 §3): its code is
// registered, so `FerryError.fromWire(e.toWire())` is an instance of the same class, with the same
// code and retriable flag. Before, SequenceGapError came back from a worker as a plain FerryError.
import { describe, expect, it } from 'vitest';
import * as ferry from '../index.ts';

const errorClasses = Object.entries(ferry).filter(
  (entry): entry is [string, typeof ferry.FerryError & { code: string }] => typeof entry[1] === 'function' && entry[1].prototype instanceof ferry.FerryError && typeof (entry[1] as { code?: unknown }).code === 'string',
);

describe('the error classes of the public entry', () => {
  it('are many', () => {
    expect(errorClasses.length).toBeGreaterThan(15);
  });

  it.each(errorClasses)('%s survives the wire as itself', (_name, cls) => {
    const original = Object.create(cls.prototype) as ferry.FerryError;
    Object.assign(original, { code: cls.code, message: 'm', retriable: false, details: undefined });
    const back = ferry.FerryError.fromWire(original.toWire());
    expect(back).toBeInstanceOf(cls);
    expect(back.code).toBe(cls.code);
  });
});
