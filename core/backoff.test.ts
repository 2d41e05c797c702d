import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../wal/index.ts';
import { backoffDelayMs } from './backoff.ts';
import { assertSameTopicOptions, resolveTopicOptions } from './topic-options.ts';

describe('backoff', () => {
  it('fixed: always the same delay', () => {
    const { backoff } = resolveTopicOptions('t', { backoff: { kind: 'fixed', delayMs: 250 } });
    expect([1, 2, 9].map((n) => backoffDelayMs(backoff, n, new SeededRandom(1)))).toEqual([250, 250, 250]);
  });

  it('exponential: grows by the multiplier up to the cap', () => {
    const { backoff } = resolveTopicOptions('t', { backoff: { kind: 'exponential', initialMs: 100, maxMs: 1000, multiplier: 3 } });
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(backoff, n, new SeededRandom(1)))).toEqual([100, 300, 900, 1000]);
  });

  it('exponential with jitter stays within ±jitter of the base', () => {
    const { backoff } = resolveTopicOptions('t', { backoff: { kind: 'exponential', initialMs: 1000, maxMs: 1000, jitter: 0.5 } });
    const random = new SeededRandom(7);
    const delays = Array.from({ length: 200 }, () => backoffDelayMs(backoff, 1, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1500);
    expect(new Set(delays).size).toBeGreaterThan(50);
  });
});

describe('topic options', () => {
  it('fills defaults, including the dead-letter topic name', () => {
    const o = resolveTopicOptions('orders');
    expect(o).toMatchObject({ partitions: 1, maxDeliveries: 5, ackTimeoutMs: 30_000, deadLetter: 'orders.dlq', dedupWindowMs: 120_000 });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects bad values with a message naming the option', () => {
    expect(() => resolveTopicOptions('t', { partitions: 0 })).toThrow(/partitions must be/);
    expect(() => resolveTopicOptions('t', { ackTimeoutMs: -1 })).toThrow(/ackTimeoutMs/);
    expect(() => resolveTopicOptions('t', { deadLetter: 'a/b' })).toThrow(/path separator/);
    expect(() => resolveTopicOptions('t', { deadLetter: 't' })).toThrow(/own dead-letter/);
    expect(() => resolveTopicOptions('t', { backoff: { kind: 'exponential', initialMs: 10, maxMs: 5 } })).toThrow(/backoff.maxMs/);
  });

  it("blames the backoff's kind, not the fields of another kind, when the kind is wrong or missing (new-user trial: { kind: 'linear' } blamed delayMs)", () => {
    const backoff = (b: unknown) => () => resolveTopicOptions('t', { backoff: b as never });
    expect(backoff({ kind: 'linear' })).toThrow("backoff.kind must be 'fixed' or 'exponential' (got 'linear')");
    expect(backoff({ kind: 'linear', delayMs: 100 })).toThrow("backoff.kind must be 'fixed' or 'exponential' (got 'linear')");
    expect(backoff({ delayMs: 100 })).toThrow("backoff needs a kind: { kind: 'fixed', delayMs } or { kind: 'exponential'");
    expect(backoff('fixed')).toThrow("backoff must be an object: { kind: 'fixed', delayMs } or");
    // The kind is right: then a field of the other kind is the mistake, named with the kind.
    expect(backoff({ kind: 'exponential', delayMs: 100 })).toThrow(`backoff { kind: 'exponential' }: unknown option "delayMs"; the known ones are kind, initialMs, maxMs, multiplier, jitter`);
    expect(backoff({ kind: 'fixed' })).toThrow("backoff { kind: 'fixed' } needs delayMs");
    expect(backoff({ kind: 'exponential', multiplier: '2' })).toThrow("backoff.multiplier must be a number from 1 to 100 (got '2')");
  });

  it('an exponential backoff starting above 30 s caps at its start unless told otherwise, instead of blaming a maxMs it was not given', () => {
    expect(resolveTopicOptions('t', { backoff: { kind: 'exponential', initialMs: 60_000 } as never }).backoff).toMatchObject({ initialMs: 60_000, maxMs: 60_000 });
    expect(resolveTopicOptions('t', { backoff: { kind: 'exponential', initialMs: 500 } as never }).backoff).toMatchObject({ initialMs: 500, maxMs: 30_000 });
  });

  it('compares field by field for idempotent createTopic', () => {
    const a = resolveTopicOptions('t', { partitions: 3 });
    expect(() => assertSameTopicOptions('t', a, resolveTopicOptions('t', { partitions: 3 }))).not.toThrow();
    expect(() => assertSameTopicOptions('t', a, resolveTopicOptions('t', { partitions: 4 }))).toThrow(/another value of partitions/);
  });
});
