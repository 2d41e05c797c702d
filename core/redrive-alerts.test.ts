// A partial redrive raises no alert for the redrive's own group (trial of the packed package: with
// letters left in the dead-letter topic, `ferry.redrive` got lagHigh and consumerStalled, though
// no one consumes as it; the group that gets the redriven letters is still watched).
import { describe, expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';
import type { FerryEventMap } from './engine-events.ts';

describe('redrive alerts', () => {
  it('a partial redrive leaves the internal redrive group out of lagHigh and consumerStalled; the origin group is stalled as before', async () => {
    const setup = memoryFerry(31);
    const ferry = await setup.open({ alerts: { lagMessages: 2, stalledAfterMs: 500 } });
    const heard: FerryEventMap['lagHigh' | 'consumerStalled'][] = [];
    ferry.on('lagHigh', (e) => heard.push(e));
    ferry.on('consumerStalled', (e) => heard.push(e));
    await ferry.createTopic('t', { maxDeliveries: 1 });
    await ferry.producer().publishMany('t', [0, 1, 2, 3, 4].map((value) => ({ value })));
    const c = ferry.consumer('g', { topics: ['t'] });
    for (let i = 0; i < 5; i++) await (await c.next())!.nack({ error: 'x' });
    await c.close({ timeoutMs: 0 });
    for (let i = 0; i < 100 && (await ferry.read('t.dlq')).length < 5; i++) await flush();
    expect(await ferry.redrive('t.dlq', { limit: 1 })).toBe(1);
    await ferry.pollEvents();
    setup.clock.advance(1000);
    await ferry.pollEvents();
    expect((await ferry.metrics()).groups.find((g) => g.group === 'ferry.redrive')?.lag).toBe(4); // still counted
    expect(heard.map((e) => `${e.type} ${e.group} ${e.topic}`)).toEqual(['consumerStalled g t']);
    await ferry.close({ timeoutMs: 0 });
  });
});
