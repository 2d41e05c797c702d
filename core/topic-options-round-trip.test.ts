// The options `topics()` and `describeTopic()` show are accepted back (trial of the packed package:
// `createTopic(name, (await ferry.describeTopic(name)).options)`, an "ensure" with the options read,
// was refused: `backoff { kind: 'fixed' }: unknown options "initialMs", "maxMs", ...`).
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { resolveTopicOptions } from './topic-options.ts';

describe('topic options round trip', () => {
  it('createTopic and alterTopic take back the resolved options of fixed, exponential and dead-letter topics', async () => {
    const ferry = await memoryFerry().open();
    await ferry.createTopic('fixed', { backoff: { kind: 'fixed', delayMs: 10 }, retention: { ms: 60_000 } });
    await ferry.createTopic('exp', { backoff: { kind: 'exponential', initialMs: 50, maxMs: 800, multiplier: 3, jitter: 0.1 } });
    await ferry.createTopic('plain');
    for (const { name, options } of ferry.topics()) {
      await expect(ferry.createTopic(name, options)).resolves.toBeUndefined();
      if (!name.endsWith('.dlq')) await expect(ferry.alterTopic(name, { backoff: options.backoff, retention: options.retention })).resolves.toEqual(options);
    }
    const described = await ferry.describeTopic('fixed');
    await expect(ferry.createTopic('fixed', described.options)).resolves.toBeUndefined();
    await ferry.close();
  });

  it('refuses a whole backoff whose unused fields disagree with its kind, and a few fields of the other kind as before', () => {
    const backoff = (b: unknown) => () => resolveTopicOptions('t', { backoff: b as never });
    expect(backoff({ kind: 'fixed', delayMs: 10, initialMs: 500, maxMs: 10, multiplier: 1, jitter: 0 })).toThrow(
      "backoff { kind: 'fixed' } uses delayMs; its initialMs 500 disagrees with them (they imply 10): give only delayMs",
    );
    expect(backoff({ kind: 'exponential', delayMs: 7, initialMs: 50, maxMs: 800, multiplier: 2, jitter: 0 })).toThrow(
      "backoff { kind: 'exponential' } uses initialMs, maxMs, multiplier, jitter; its delayMs 7 disagrees with them (they imply 50)",
    );
    expect(backoff({ kind: 'fixed', delayMs: 10, maxMs: 10 })).toThrow(`backoff { kind: 'fixed' }: unknown option "maxMs"; the known ones are kind, delayMs`);
  });
});
