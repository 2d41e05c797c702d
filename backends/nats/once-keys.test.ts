// d.once's key store on NATS (backends/nats/once-keys.ts), on a private nats-server, at the level
// where a crash between its steps can be staged: a key recorded as done whose +ACK never went out
// answers "recorded" to the redelivery; a claim whose lease ran out is taken over, and the late
// owner's record is refused (STALE_DELIVERY) before its +ACK; a nack frees the claim at once.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startNats, type NatsSetup } from '../../test-support/nats-server.ts';
import { connectNats, type NatsLink } from './link.ts';
import { NatsOnceKeys, type OnceAsker } from './once-keys.ts';
import { resolveNatsOptions } from './options.ts';

let setup: NatsSetup | { skip: string };
let link: NatsLink | undefined;

beforeAll(async () => {
  setup = await startNats(1);
  if (!('skip' in setup)) link = await connectNats(resolveNatsOptions({ backend: { kind: 'nats', servers: setup.servers } }));
}, 30_000);

afterAll(async () => {
  await link?.nc.close();
  if (!('skip' in setup)) await setup.cleanup();
});

function keys(ctx: TestContext): NatsOnceKeys {
  if ('skip' in setup) ctx.skip(setup.skip);
  return new NatsOnceKeys(link!);
}

/** One attempt of message `offset` for group g on topic t, partition 0. */
const attempt = (owner: string, leaseMs = 30_000): OnceAsker => ({ group: 'g', topic: 't', partition: 0, owner, leaseUntil: Date.now() + leaseMs });

describe('d.once keys on NATS', () => {
  it('answers recorded to the redelivery of a message whose key was recorded and whose +ACK was lost (a crash between them)', async (ctx) => {
    const once = keys(ctx);
    const first = attempt('c1.7.1');
    const claimed = await once.claim(first, 'email:1');
    expect(claimed.answer).toBe('first');
    expect(await once.claim(attempt('c2.7.1'), 'email:1')).toEqual({ answer: 'busy' }); // another attempt, live
    expect((await once.claim(first, 'email:1')).answer).toBe('first'); // the owner asking again
    await once.record(first, [(claimed as { claim: { key: string; seq: number } }).claim], 7);
    // The process dies here, before the +ACK: the message comes back as attempt 2.
    expect(await once.claim(attempt('c1.7.2'), 'email:1')).toEqual({ answer: 'recorded' });
    expect((await new NatsOnceKeys(link!).claim(attempt('other-process.7.2'), 'email:1')).answer).toBe('recorded');
    // Keys are per group (and topic and partition), as on the embedded engine.
    expect((await once.claim({ ...attempt('c1.7.1'), group: 'audit' }, 'email:1')).answer).toBe('first');
  });

  it('lets a redelivery take over a claim whose lease ran out, and refuses the late owner\'s ack with STALE_DELIVERY', async (ctx) => {
    const once = keys(ctx);
    const slow = attempt('c1.8.1', 200);
    const claimed = await once.claim(slow, 'charge:8');
    expect(claimed.answer).toBe('first');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const next = await once.claim(attempt('c2.8.2'), 'charge:8');
    expect(next.answer).toBe('first');
    await expect(once.record(slow, [(claimed as { claim: { key: string; seq: number } }).claim], 8)).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
  });

  it('forgets a deleted group\'s keys on a topic, and only those', async (ctx) => {
    const once = keys(ctx);
    const at = (group: string, topic: string, owner: string): OnceAsker => ({ ...attempt(owner), group, topic });
    for (const [group, topic] of [['gone', 't1'], ['gone', 't2'], ['kept', 't1']] as const) {
      const a = at(group, topic, `c.${group}.${topic}`);
      const claimed = await once.claim(a, 'k');
      await once.record(a, [(claimed as { claim: { key: string; seq: number } }).claim], 1);
    }
    await once.forgetGroup('t1', 'gone');
    expect((await once.claim(at('gone', 't1', 'new'), 'k')).answer).toBe('first');
    expect((await once.claim(at('gone', 't2', 'new'), 'k')).answer).toBe('recorded');
    expect((await once.claim(at('kept', 't1', 'new'), 'k')).answer).toBe('recorded');
  });

  it('frees a nacked attempt\'s claim at once for the redelivery', async (ctx) => {
    const once = keys(ctx);
    const nacked = attempt('c1.9.1');
    const claimed = await once.claim(nacked, 'k9');
    expect(claimed.answer).toBe('first');
    expect((await once.claim(attempt('c2.9.2'), 'k9')).answer).toBe('busy');
    await once.release(nacked, [(claimed as { claim: { key: string; seq: number } }).claim]);
    expect((await once.claim(attempt('c2.9.2'), 'k9')).answer).toBe('first');
  });
});
