// Settles on NATS (backends/nats/ack-confirms.ts): an ack or a nack resolves once the server
// confirmed it (AckAck), also when hundreds go out in one turn over one inbox; a server that does
// not answer makes it reject with BACKEND_UNAVAILABLE after requestTimeoutMs, and it can be tried
// again while the lease lasts; one the server refuses (its consumer deleted) rejects at once.
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it, vi, type TestContext } from 'vitest';
import type { Delivery } from '../../index.ts';
import { natsFixture } from '../../test-support/nats-fixture.ts';
import { settlePayload } from './ack-confirms.ts';
import type { JetStreamDelivery } from './delivery.ts';
import { streamName } from './mapping.ts';

const nats = natsFixture();

async function consumerInfo(ctx: TestContext, topic: string, group: string): Promise<{ num_ack_pending: number; ack_floor: { stream_seq: number } }> {
  const nc = await connect({ servers: nats.server(ctx).servers });
  try {
    return await (await jetstreamManager(nc)).consumers.info(streamName(topic), group);
  } finally {
    await nc.close();
  }
}

describe('settles on NATS', () => {
  it('confirms each of hundreds of acks sent in one turn (one answer per token)', async (ctx) => {
    const ferry = await nats.open(ctx);
    await ferry.createTopic('acks-many');
    const sent = await ferry.producer().publishMany('acks-many', Array.from({ length: 300 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['acks-many'], maxInFlight: 300 });
    const held = [];
    for (let i = 0; i < 300; i++) held.push((await consumer.next())!);
    await Promise.all(held.map((d) => d.ack())); // sent together
    const info = await consumerInfo(ctx, 'acks-many', 'g');
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBe(sent.at(-1)!.offset);
    await consumer.close();
  });

  it('rejects an ack the server does not answer with BACKEND_UNAVAILABLE, and takes it when tried again', async (ctx) => {
    const ferry = await nats.open(ctx, { requestTimeoutMs: 500 });
    await ferry.createTopic('acks-silent', { ackTimeoutMs: 20_000 });
    await ferry.producer().publish('acks-silent', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['acks-silent'] });
    const d = (await consumer.next())!;
    const pid = nats.server(ctx).nodes[0]!.pid()!;
    process.kill(pid, 'SIGSTOP'); // the server hangs: no answer
    // kill() returns before every thread has stopped: on a busy machine the server could still
    // answer the ack sent next (seen once in a full run). Wait until it is stopped.
    while (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'T') await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    try {
      await expect(d.ack()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', retriable: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await d.ack(); // the lease lasts: a second try is sent and confirmed
    expect((await consumerInfo(ctx, 'acks-silent', 'g')).num_ack_pending).toBe(0);
    await consumer.close();
  });

  it('writes a -NAK as the client does: bare for no delay, the delay in nanoseconds otherwise', () => {
    const text = (b: Uint8Array): string => new TextDecoder().decode(b);
    expect(text(settlePayload({ nakDelayMs: 0 }))).toBe('-NAK');
    expect(text(settlePayload({ nakDelayMs: 1500.4 }))).toBe('-NAK {"delay":1500000000}');
    expect(text(settlePayload('working'))).toBe('+WPI');
    expect(text(settlePayload('ack'))).toBe('+ACK');
  });

  it('confirms each of hundreds of nacks sent in one turn, and each message comes back once (issue 15, W4)', async (ctx) => {
    const ferry = await nats.open(ctx);
    await ferry.createTopic('nacks-many', { backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publishMany('nacks-many', Array.from({ length: 200 }, (_, i) => ({ value: i })));
    const consumer = ferry.consumer<number>('g', { topics: ['nacks-many'], maxInFlight: 200 });
    const first = [];
    for (let i = 0; i < 200; i++) first.push((await consumer.next())!);
    await Promise.all(first.map((d) => d.nack({ delayMs: 0 }))); // sent together, each confirmed
    const again = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const d = (await consumer.next())!;
      expect(d.attempt).toBe(2);
      again.set(d.value, (again.get(d.value) ?? 0) + 1);
      await d.ack();
    }
    expect([...again.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const info = await consumerInfo(ctx, 'nacks-many', 'g');
    expect(info.num_ack_pending).toBe(0);
    await consumer.close();
  });

  // A nack used to resolve unheard: it waited for a PONG, which says nothing of the consumer (issue 15).
  for (const [label, what, settle] of [
    ['an ack', 'ack', (d: Delivery) => d.ack()],
    ['a nack', 'nack', (d: Delivery) => d.nack({ delayMs: 0 })],
  ] as const) {
    it(`rejects at once ${label} the server refuses (the group was deleted meanwhile)`, async (ctx) => {
      const ferry = await nats.open(ctx);
      const topic = `${what}s-gone`;
      await ferry.createTopic(topic);
      await ferry.producer().publish(topic, { value: 'x' });
      const consumer = ferry.consumer('g', { topics: [topic] });
      const d = (await consumer.next())!;
      const nc = await connect({ servers: nats.server(ctx).servers });
      await (await jetstreamManager(nc)).consumers.delete(streamName(topic), 'g');
      await nc.close();
      const started = Date.now();
      await expect(settle(d)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', details: { what } });
      expect(Date.now() - started).toBeLessThan(4000); // not the 5 s request timeout
      consumer.abandon();
    });
  }

  it('leaves a nack on its way alone when the consumer closes, and hands back what is only held (issue 15)', async (ctx) => {
    const ferry = await nats.open(ctx);
    await ferry.createTopic('nack-close', { backoff: { kind: 'fixed', delayMs: 0 } });
    await ferry.producer().publishMany('nack-close', [{ value: 'nacked' }, { value: 'held' }]);
    const closing = ferry.consumer<string>('g', { topics: ['nack-close'], maxInFlight: 2 });
    const taken = [(await closing.next())!, (await closing.next())!];
    const [nacked, held] = ['nacked', 'held'].map((v) => taken.find((d) => d.value === v) as unknown as JetStreamDelivery<string>);
    const naks = [vi.spyOn(nacked!.msg, 'nak'), vi.spyOn(held!.msg, 'nak')];
    const nacking = nacked!.nack({ delayMs: 0 });
    await closing.close({ timeoutMs: 0 });
    await nacking;
    // A second -NAK of the first would reach the server after its own: one that redelivered the
    // message meanwhile (to another member) would then deliver it once more.
    expect(naks[0]).not.toHaveBeenCalled();
    expect(naks[1]).toHaveBeenCalledTimes(1);
    const after = ferry.consumer<string>('g', { topics: ['nack-close'] });
    const back = [(await after.next())!, (await after.next())!];
    expect(back.map((d) => [d.value, d.attempt]).sort()).toEqual([
      ['held', 2],
      ['nacked', 2],
    ]);
    await Promise.all(back.map((d) => d.ack()));
    await after.close();
  });
});
