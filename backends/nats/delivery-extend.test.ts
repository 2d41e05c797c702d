// Extends of one NATS delivery (backends/nats/delivery.ts) go out one at a time: each +WPI waits
// for the server's answer on the shared inbox, so a handler calling extend() in a loop without
// awaiting it could otherwise queue answers without end. The lease each one gives is measured from
// when it is sent. No server: the delivery's owner is a stand-in that holds the answers.
import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { resolveTopicOptions } from '../../core/index.ts';
import type { SettleSignal } from './ack-confirms.ts';
import { JetStreamDelivery, leaseMarginMs, type NatsDeliveryOwner } from './delivery.ts';

const options = resolveTopicOptions('t', { ackTimeoutMs: 10_000 });

function fakeMsg(): JsMsg {
  return { info: { streamSequence: 7, deliveryCount: 1, timestampNanos: 1e15 }, data: new Uint8Array() } as unknown as JsMsg;
}

/** An owner whose clock the test moves and whose server answers when the test says. */
function fakeOwner(): { owner: NatsDeliveryOwner; sent: SettleSignal[]; answer(): void; clock: { ms: number } } {
  const sent: SettleSignal[] = [];
  const answers: (() => void)[] = [];
  const clock = { ms: 1000 };
  const owner = {
    group: 'g',
    id: 'me',
    onceKeys: undefined,
    accepts: () => true,
    now: () => clock.ms,
    optionsOf: () => options,
    confirm: (_msg: JsMsg, what: SettleSignal) => {
      sent.push(what);
      return new Promise<void>((resolve) => answers.push(resolve));
    },
    deadLetter: async () => {},
    backoffMs: () => 0,
    settled: () => {},
    expired: () => {},
  } as unknown as NatsDeliveryOwner;
  return { owner, sent, clock, answer: () => answers.shift()!() };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('extend on NATS', () => {
  it('sends one +WPI per delivery at a time, the next after the answer, its lease from then (issue 15)', async () => {
    const { owner, sent, clock, answer } = fakeOwner();
    const lease = options.ackTimeoutMs - leaseMarginMs(options.ackTimeoutMs);
    const d = new JetStreamDelivery(fakeMsg(), 't', 0, { value: 1, headers: undefined, key: undefined, id: undefined, deadLetter: undefined, onlyGroup: undefined }, options, clock.ms + lease, owner);
    const first = d.extend();
    const second = d.extend();
    const third = d.extend();
    await turn();
    expect(sent).toEqual(['working']); // the others wait for its answer
    clock.ms += 2000;
    answer();
    await first;
    await turn();
    expect(sent).toEqual(['working', 'working']);
    clock.ms += 3000;
    answer();
    await second;
    await turn();
    expect(sent).toHaveLength(3);
    answer();
    await third;
    expect(d.deadline).toBe(1000 + 2000 + 3000 + lease); // the third was sent at 6000 ms
  });

  it('refuses an extend that waited for another once the delivery was settled meanwhile', async () => {
    const { owner, sent, clock, answer } = fakeOwner();
    const d = new JetStreamDelivery(fakeMsg(), 't', 0, { value: 1, headers: undefined, key: undefined, id: undefined, deadLetter: undefined, onlyGroup: undefined }, options, clock.ms + 5000, owner);
    const first = d.extend();
    const second = d.extend();
    await turn();
    const acked = d.ack(); // settled now (its +ACK waits for an answer too)
    answer(); // the first +WPI
    answer(); // the +ACK
    await Promise.all([first, acked]);
    await expect(second).rejects.toMatchObject({ code: 'STALE_DELIVERY' });
    expect(sent).toEqual(['working', 'ack']);
  });
});
