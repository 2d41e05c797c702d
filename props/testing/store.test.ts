// The simulated store's transactions (issue 16): serializable, so two deliveries of one message
// racing through a dedupe check cannot both commit; effects recorded only on commit.
import { describe, expect, it } from 'vitest';
import { simulate } from './index.ts';

describe('a simulated store', () => {
  it('fails the second of two racing transactions that read the same key, and records only the committed effect', async () => {
    const report = await simulate({ seed: 1, faults: 'none' }, async (sim) => {
      const db = sim.store<number>('db');
      const claim = () =>
        db.transaction((tx) => {
          if (tx.has('paid')) return false;
          tx.set('paid', 1);
          tx.effect('charge', 'p1');
          return true;
        });
      const results = await Promise.allSettled([claim(), claim()]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'TRANSACTION_CONFLICT', retriable: true } });
      await expect(claim()).resolves.toBe(false); // retried: sees the committed claim
      await expect(db.transaction(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
      expect(db.entries()).toEqual([['paid', 1]]);
    });
    expect(report.history.effects.map((e) => e.key)).toEqual(['p1']);
  });
});
