// A key-ordered ledger (issue 16): with a handler that fails now and then, a consumer without key
// ordering applies an account's entries out of sequence; `ordering: 'key'` plus skipping applied
// entries keeps every account at 1..6, in order, under random faults.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../props/testing/index.ts';
import { keyOrdered, ledger, naive } from './ledger.ts';

describe('ledger: entries per account in sequence', () => {
  it('without key ordering, a retried entry is overtaken, and the order check names the key', async () => {
    const failure = await simulate({ seed: 3, faults: 'none' }, ledger(naive)).then(() => undefined, (e: unknown) => e as Error);
    expect(failure?.message).toMatch(/per-key order for books does not hold:\n {2}ledger\/\d key "acct-\d": offset \d+ was first (delivered|acked) after offset \d+/);
  });

  it('with ordering: key and applied entries skipped, holds over 40 seeds of random faults', async () => {
    for (let seed = 1; seed <= 40; seed++) await simulate({ seed }, ledger(keyOrdered));
  });
});
