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

  it('compares field by field for idempotent createTopic', () => {
    const a = resolveTopicOptions('t', { partitions: 3 });
    expect(() => assertSameTopicOptions('t', a, resolveTopicOptions('t', { partitions: 3 }))).not.toThrow();
    expect(() => assertSameTopicOptions('t', a, resolveTopicOptions('t', { partitions: 4 }))).toThrow(/different partitions/);
  });
});
