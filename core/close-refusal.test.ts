// A refused close leaves the engine open for a corrected call (trial of the packed package: a
// negative timeoutMs rejected once, then every later close() rejected with the same error and the
// directory's lock was never released; with no consumer open the same value was taken silently).
import { describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';

describe('close refusal', () => {
  it('refuses a bad timeoutMs before closing anything, and a later close() closes and releases the lock', async () => {
    const memory = memoryFerry();
    const ferry = await memory.open();
    await ferry.createTopic('t');
    ferry.consumer('g', { topics: ['t'] });
    await expect(ferry.close({ timeoutMs: -5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'close timeoutMs must be a finite number of ms, 0 or more (got -5)' });
    await ferry.producer().publish('t', { value: 'still open' });
    await ferry.close({ timeoutMs: 0 });
    const again = await memory.open();
    expect((await again.read('t')).map((m) => m.value)).toEqual(['still open']);
    await again.close();
  });

  it('refuses the same values with no consumer open, as a rejection rather than a throw', async () => {
    const ferry = await memoryFerry().open();
    const refused = [{ timeoutMs: Number.NaN }, { timeoutMs: '5' }, { timeoutMz: 5 }, 'soon'].map((o) => ferry.close(o as never));
    const errors = await Promise.all(refused.map((p) => p.then(() => undefined, (e: unknown) => e)));
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    await ferry.close();
    await expect(ferry.createTopic('t')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it("a consumer's close() refuses a bad timeoutMs as a rejection, and closes when asked again", async () => {
    const memory = memoryFerry();
    const ferry = await memory.open();
    await ferry.createTopic('t');
    const consumer = ferry.consumer('g', { topics: ['t'] });
    let refused: Promise<void> | undefined;
    expect(() => (refused = consumer.close({ timeoutMs: -5 }))).not.toThrow(); // it threw from a method that returns a promise
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await consumer.close({ timeoutMs: 0 });
    await ferry.close();
  });

  it('a publish after the engine closed says to open the engine again, not a new producer (which is refused too)', async () => {
    const ferry = await memoryFerry().open();
    await ferry.createTopic('t');
    const producer = ferry.producer();
    await ferry.close();
    await expect(producer.publish('t', { value: 1 })).rejects.toMatchObject({ code: 'CLOSED', message: 'this producer is closed; its Ferry instance was closed: open the directory again with Ferry.open to continue' });
    expect(() => ferry.producer()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('a publish after its own close() says to open a new producer', async () => {
    const ferry = await memoryFerry().open();
    await ferry.createTopic('t');
    const producer = ferry.producer();
    await producer.close();
    await expect(producer.publish('t', { value: 1 })).rejects.toMatchObject({ code: 'CLOSED', message: 'this producer is closed; open a new one to continue' });
    await ferry.close();
  });
});
