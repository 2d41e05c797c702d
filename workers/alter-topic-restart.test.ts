// ferry.alterTopic on worker threads (issue 12): a worker that restarts after the change reopens
// its partitions with the new options, not those the topic was created with.
import { afterEach, describe, expect, it } from 'vitest';
import type { Ferry } from '../index.ts';
import { realFerry, until, type RealFerry } from '../test-support/real-ferry.ts';

let setup: RealFerry | undefined;
let ferry: Ferry | undefined;
afterEach(async () => {
  await ferry?.close({ timeoutMs: 0 });
  setup?.cleanup();
  ferry = undefined;
  setup = undefined;
});

describe('alterTopic and a worker restart', () => {
  it('a restarted worker keeps the raised maxDeliveries: the failing message is retried, not dead-lettered', async () => {
    setup = realFerry(1);
    ferry = await setup.open();
    await ferry.createTopic('t', { maxDeliveries: 1, backoff: { kind: 'fixed', delayMs: 10 } });
    await ferry.alterTopic('t', { maxDeliveries: 3 });
    await setup.runtime!.killShard(0);
    await until(() => setup!.runtime!.shardHealth(0).restarts === 1);
    await ferry.producer().publish('t', { value: 'flaky' });
    const c = ferry.consumer('g', { topics: ['t'] });
    await (await c.next())!.nack({ error: 'once' });
    // Under the maxDeliveries of 1 the reopened partition would have, this would be dead-lettered.
    const again = await Promise.race([c.next(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    expect(again?.attempt).toBe(2);
    await again!.ack();
    expect(await ferry.read('t.dlq')).toEqual([]);
    await c.close();
  }, 60_000);
});
