// `Ferry.open({ repair: true })` (issue 9 §3): CORRUPT_SEGMENT tells the user to open with
// `repair: true`, and now Ferry.open takes it: the damaged log is cut at its first bad batch and
// opens; what came before the damage is kept.
import { expect, it } from 'vitest';
import { flush, memoryFerry } from '../test-support/memory-ferry.ts';

it('refuses a log damaged inside synced data, naming repair: true, and opens it with repair: true', async () => {
  const setup = memoryFerry(61, { segmentBytes: 600 });
  let ferry = await setup.open();
  await ferry.createTopic('t');
  const producer = ferry.producer();
  for (let i = 0; i < 40; i++) await producer.publish('t', { value: `m${i}` }); // several sealed segments
  await ferry.close();
  const segments = setup.fs.list('/ferry/topics/t/0').filter((f) => f.endsWith('.log')).sort();
  expect(segments.length).toBeGreaterThan(2);
  setup.fs.flipBit(`/ferry/topics/t/0/${segments[1]}`, 100, 3); // inside the second segment: synced data follows
  const refused = await setup.open().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toMatchObject({ code: 'CORRUPT_SEGMENT' });
  expect((refused as Error).message).toContain('repair: true');
  ferry = await setup.open({ repair: true });
  const consumer = ferry.consumer<string>('g', { topics: ['t'] });
  const got: string[] = [];
  for (let d = await consumer.next(); d && d.value !== undefined; ) {
    got.push(d.value);
    await d.ack();
    const next = consumer.next();
    await flush();
    setup.clock.advance(2000);
    await flush();
    d = await Promise.race([next, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50))]);
  }
  expect(got.length).toBeGreaterThan(0); // the first segment, before the damage, is kept
  expect(got.length).toBeLessThan(40); // what followed the damage was cut
  expect(got).toEqual(Array.from({ length: got.length }, (_, i) => `m${i}`));
  await ferry.close({ timeoutMs: 0 });
});
