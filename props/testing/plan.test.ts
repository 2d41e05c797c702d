// Fault plans (issue 16): rates become an explicit, seeded list of events; the same seed gives the
// same plan; a given plan is used as it is.
import { describe, expect, it } from 'vitest';
import { resolvePlan } from './plan.ts';

describe('resolvePlan', () => {
  it('draws events at the rates given, the same for the same seed, within the horizon', () => {
    const plan = resolvePlan(9, { crash: 1, pause: 0.5, drop: 0.01 }, 20_000);
    expect(resolvePlan(9, { crash: 1, pause: 0.5, drop: 0.01 }, 20_000)).toEqual(plan);
    expect(resolvePlan(10, { crash: 1, pause: 0.5, drop: 0.01 }, 20_000)).not.toEqual(plan);
    const crashes = plan.events.filter((e) => e.kind === 'crash').length;
    expect(crashes).toBeGreaterThan(8); // ~20 expected
    expect(crashes).toBeLessThan(40);
    expect(new Set(plan.events.map((e) => e.kind))).toEqual(new Set(['crash', 'pause']));
    expect(plan.events.every((e, i) => e.atMs < 20_000 && (i === 0 || plan.events[i - 1]!.atMs <= e.atMs))).toBe(true);
    expect(plan.network.drop).toBe(0.01);
  });

  it("'none' has no faults; 'random' lets the seed pick rates; a plan is kept as given", () => {
    expect(resolvePlan(1, 'none', 30_000)).toMatchObject({ events: [], network: { drop: 0, duplicate: 0 }, duplicatePublish: 0 });
    const picked = new Set(Array.from({ length: 20 }, (_, seed) => resolvePlan(seed, 'random', 30_000).events.length));
    expect(picked.size).toBeGreaterThan(3);
    const given = { events: [{ atMs: 5, kind: 'crash' as const }], network: { drop: 0, duplicate: 0, delay: 0, maxDelayMs: 0 }, duplicatePublish: 0.5 };
    expect(resolvePlan(1, given, 30_000)).toEqual(given);
  });
});
