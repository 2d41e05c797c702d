// An email sender with a call slower than its lease (issue 16): the naive handler sends emails
// twice and gets messages dead-lettered that never failed; extending the lease over the call and
// recording what was sent fixes both, under lost and duplicated messages and duplicate publishes.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../props/testing/index.ts';
import { emails, sendNaively, sendOnce } from './email.ts';

/** Faults after which an at-least-once email may legitimately go twice are left out: crashes and pauses. */
const NO_CRASHES = { drop: 0.02, duplicate: 0.05, duplicatePublish: 0.2, clockJump: 0.2, diskFull: 0.05 } as const;

describe('email: a provider call slower than the lease', () => {
  it('without extending the lease, dead-letters messages whose handler never failed, even with no faults', async () => {
    const failure = await simulate({ seed: 1, faults: 'none' }, emails(sendNaively)).then(() => undefined, (e: unknown) => e as Error);
    expect(failure?.message).toMatch(/emails\/0@\d+ was dead-lettered for mailer after 3 attempts, but no handler ever failed it/);
    expect(failure?.message).toContain('simulate({ seed: 1, faults: {"events":[]');
  });

  it('extending the lease over the call and recording sends holds over 40 seeds', async () => {
    for (let seed = 1; seed <= 40; seed++) await simulate({ seed, faults: NO_CRASHES }, emails(sendOnce));
  });
});
