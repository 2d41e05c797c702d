// Acks on NATS (backends/nats/ack-confirms.ts): an ack resolves once the server confirmed it
// (AckAck), also when hundreds go out in one turn over one inbox; a server that does not answer
// makes it reject with BACKEND_UNAVAILABLE after requestTimeoutMs, and the ack can be tried again
// while the lease lasts; an ack the server refuses (its consumer deleted) rejects at once.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it, type TestContext } from 'vitest';
import { natsFixture } from '../../test-support/nats-fixture.ts';
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

describe('acks on NATS', () => {
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

  it('rejects at once an ack the server refuses (the group was deleted meanwhile)', async (ctx) => {
    const ferry = await nats.open(ctx);
    await ferry.createTopic('acks-gone');
    await ferry.producer().publish('acks-gone', { value: 'x' });
    const consumer = ferry.consumer('g', { topics: ['acks-gone'] });
    const d = (await consumer.next())!;
    const nc = await connect({ servers: nats.server(ctx).servers });
    await (await jetstreamManager(nc)).consumers.delete(streamName('acks-gone'), 'g');
    await nc.close();
    const started = Date.now();
    await expect(d.ack()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(4000); // not the 5 s request timeout
    consumer.abandon();
  });
});
