// What a user reads when an option or argument is refused: the field they got wrong, the value
// they passed shown so a string never reads as a number, and what is allowed (issue: new-user
// trial of the packed package).
import { afterEach, describe, expect, it } from 'vitest';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { workerRuntimeFactory } from '../workers/index.ts';
import type { Ferry } from './ferry.ts';

const bad = (v: unknown) => v as never;

describe('option errors', () => {
  let ferry: Ferry | undefined;
  afterEach(async () => {
    await ferry?.close({ timeoutMs: 0 });
    ferry = undefined;
  });

  it("quote a string value, so '2' and 2 read differently (new-user trial: `(got 2)` for the string '2')", async () => {
    ferry = await memoryFerry().open();
    await expect(ferry.createTopic('t', { partitions: '2' as unknown as number })).rejects.toThrow("partitions must be an integer from 1 to 4096 (got '2')");
    await expect(ferry.createTopic('u', { partitions: 5000 })).rejects.toThrow('(got 5000)');
    await ferry.createTopic('t');
    expect(() => ferry!.producer({ maxBatchMessages: '2' as unknown as number })).toThrow("(got '2')");
    expect(() => ferry!.consumer('g', { topics: ['t'], maxInFlight: '2' as unknown as number })).toThrow("(got '2')");
    await expect(ferry.consumer('g', { topics: ['t'] }).run(() => {}, { concurrency: '2' as unknown as number })).rejects.toThrow("(got '2')");
    await expect(memoryFerry().open({ segmentBytes: '2' as unknown as number })).rejects.toThrow("(got '2')");
  });

  it('name the field, show the value and refuse unknown names across the public options (review after the new-user trial)', async () => {
    ferry = await memoryFerry().open();
    await ferry.createTopic('t');
    const f = ferry;
    const refusals: [string, () => unknown, string][] = [
      ['Ferry.open without dir', () => memoryFerry().open(bad({ dir: 5 })), "Ferry.open needs { dir }: the data directory, a path (got 5)"],
      ['limits not an object', () => memoryFerry().open(bad({ limits: 5 })), 'options.limits must be an object (got 5)'],
      ['alerts not an object', () => memoryFerry().open(bad({ alerts: 'often' })), "options.alerts must be an object (got 'often')"],
      ['resolveInDoubt', () => memoryFerry().open(bad({ resolveInDoubt: 'commit' })), "options.resolveInDoubt must be a function (id, info) => 'commit' | 'abort' (or a promise of one) (got 'commit')"],
      ['worker options misspelt', () => workerRuntimeFactory(bad({ restrat: {} })), 'workerRuntimeFactory options: unknown option "restrat"'],
      ['worker restart field', () => workerRuntimeFactory(bad({ restart: { maxRestarts: 3, windowMs: '1000', backoffMs: 0 } })), "restart.windowMs must be a whole number from 1 (got '1000')"],
      ['worker heartbeat field', () => workerRuntimeFactory(bad({ heartbeat: { intervalMs: 100, hungAfterMs: 150 } })), 'heartbeat.hungAfterMs must be a whole number from 2 × intervalMs (200) (got 150)'],
      ['worker heartbeat misspelt', () => workerRuntimeFactory(bad({ heartbeat: { intervalMs: 100, hungAfterMS: 500 } })), 'heartbeat: unknown option "hungAfterMS"'],
      ['topic options', () => f.createTopic('u', bad('orders.dlq')), "topic options must be an object (got 'orders.dlq')"],
      ['deadLetter true', () => f.createTopic('u', bad({ deadLetter: true })), 'deadLetter must be a topic name, or false for none (got true)'],
      ['consumer without options', () => f.consumer('g', bad(undefined)), "ferry.consumer(group, options) needs options: { topics: ['a topic', ...] }"],
      ['consumer topics a string', () => f.consumer('g', bad({ topics: 't' })), "consumer options.topics must be an array of topic names, e.g. ['orders'] (got 't')"],
      ['consumer topics empty', () => f.consumer('g', { topics: [] }), 'consumer options.topics must list at least one topic'],
      ['consumer topic not a name', () => f.consumer('g', bad({ topics: [5] })), 'invalid topic name 5: it must be a string, not number'],
      ['consumer ordering', () => f.consumer('g', bad({ topics: ['t'], ordering: 'Key' })), "consumer options.ordering must be 'none', 'key' or 'partition' (got 'Key')"],
      ['run handler', () => f.consumer('g', { topics: ['t'] }).run(bad('handle')), "run needs a handler function (got 'handle')"],
      ['message not an object', () => f.producer().publish('t', bad('hello')), "a message must be an object like { value, key?, headers?, id?, delayMs? } (got 'hello')"],
      ['message field misspelt', () => f.producer().publish('t', bad({ vlaue: 1 })), 'unknown message field "vlaue"'],
      ['message without value', () => f.producer().publish('t', bad({ key: 'k' })), 'message.value is missing'],
      ['message key', () => f.producer().publish('t', bad({ value: 1, key: 7 })), 'message.key must be a string of at most 1024 characters (got 7)'],
      ['message header', () => f.producer().publish('t', bad({ value: 1, headers: { n: 1 } })), 'message.headers["n"] must be a string (got 1)'],
      ['publishMany', () => f.producer().publishMany('t', bad({ value: 1 })), 'publishMany takes an array of messages (got { value: 1 })'],
      ['redrive to', () => f.redrive('t.dlq', bad({ to: 5 })), 'invalid topic name 5'],
      ['deleteGroup topics a string', () => f.deleteGroup('nobody', bad({ topics: 't' })), "deleteGroup options.topics must be an array of topic names, e.g. ['orders'] (got 't')"],
      ['event listener', () => f.on('lagHigh', bad('log')), "the listener of lagHigh must be a function (got 'log')"],
      ['transaction', () => f.transaction(bad('tx')), "ferry.transaction needs a function (tx) => ... (got 'tx')"],
      ['beginTransaction', () => f.beginTransaction(bad('tx-1')), "beginTransaction needs { id } (got 'tx-1')"],
    ];
    for (const [what, call, message] of refusals) {
      const refusal = await Promise.resolve().then(call).then(() => undefined, (e: unknown) => e);
      expect(refusal, what).toMatchObject({ message: expect.stringContaining(message) });
      expect((refusal as { code: string }).code, what).toMatch(/^INVALID_(ARGUMENT|NAME|MESSAGE)$/);
    }
  });

  it("refuse a nack's bad options, the error passed in their place included, and leave the lease to the caller", async () => {
    ferry = await memoryFerry().open();
    await ferry.createTopic('t');
    await ferry.producer().publish('t', { value: 1 });
    const d = (await ferry.consumer('g', { topics: ['t'] }).next())!;
    await expect(d.nack(bad(new TypeError('boom')))).rejects.toThrow('nack takes options, not the error itself: d.nack({ error }) (got [TypeError: boom])');
    await expect(d.nack(bad('boom'))).rejects.toThrow("nack options must be an object (got 'boom')");
    await expect(d.nack(bad({ delay: 5 }))).rejects.toThrow('nack options: unknown option "delay"');
    await expect(d.nack(bad({ deadLetter: 'yes' }))).rejects.toThrow("nack deadLetter must be true or false (got 'yes')");
    await expect(d.once(bad(7))).rejects.toThrow('once key must be a non-empty string of at most 1024 characters (got 7)');
    await d.nack({ error: new TypeError('boom') }); // still leased: the refused nacks changed nothing
  });
});
