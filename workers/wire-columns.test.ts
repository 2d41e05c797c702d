import { describe, expect, it } from 'vitest';
import type { DeliveredMessage, PartitionCommand } from '../core/index.ts';
import { packCommand, packReplyValue, replyValueTransfer, unpackCommand, unpackReplyValue } from './wire-columns.ts';

const delivered = (offset: number, bytes: number[]): DeliveredMessage => {
  const shared = Uint8Array.from([0xee, ...bytes, 0xee]); // a fetch's buffer: the record within it
  return { offset, token: 7 * 2 ** 21 + offset, attempt: 1 + (offset % 3), bytes: shared, start: 1, end: 1 + bytes.length, publishedAt: 1_700_000_000_000 + offset };
};
/** A delivery as plain data to compare: its record's bytes, not where they lie. */
const plain = ({ bytes, start, end, ...rest }: DeliveredMessage) => ({ ...rest, record: [...bytes.subarray(start, end)] });

/** Through a real structured clone, as the port does. */
const overThePort = <T>(value: T, transfer: ArrayBuffer[] = []): T => structuredClone(value, { transfer });

describe('a fetch reply as columns', () => {
  it('arrives as the same deliveries, its bytes moved in one buffer', () => {
    const messages = [delivered(10, [1, 2, 3]), delivered(11, []), delivered(12, [9]), delivered(2 ** 40, [4, 5])];
    const packed = packReplyValue(messages);
    const moved = replyValueTransfer(packed);
    expect(moved).toBeInstanceOf(ArrayBuffer);
    const arrived = unpackReplyValue(overThePort(packed, [moved!])) as DeliveredMessage[];
    expect(arrived.map(plain)).toEqual(messages.map(plain));
    expect(moved!.byteLength).toBe(0); // detached: moved, not copied
  });

  it('leaves every other reply as it is (empty fetches, settle results, other shapes)', () => {
    const others: unknown[] = [[], [null, { code: 'STALE_DELIVERY' }], { offset: 1 }, 42, null, [{ offset: 1, token: 't', bytes: new Uint8Array(1), start: 0, extra: true, a: 1, b: 2 }]];
    for (const value of others) {
      expect(packReplyValue(value)).toBe(value);
      expect(unpackReplyValue(value)).toBe(value);
      expect(replyValueTransfer(value)).toBeUndefined();
    }
  });
});

describe('a settle command as columns', () => {
  const settle = (items: unknown[]): PartitionCommand => ({ op: 'settle', topic: 't', partition: 3, group: 'g', items } as PartitionCommand);

  it('arrives with the same starts and acks, in order', () => {
    const command = settle([{ kind: 'start', offset: 5, token: 2 ** 40 + 5 }, { kind: 'ack', offset: 6, token: 6 }, { kind: 'ack', offset: 5, token: 2 ** 40 + 5 }]);
    const packed = packCommand(command);
    expect(Array.isArray((packed as { items: unknown }).items)).toBe(false);
    expect(unpackCommand(overThePort(packed))).toEqual(command);
  });

  it('sends items as objects when any is not a start or a plain ack (a nack, an ack with once keys, a release)', () => {
    for (const odd of [{ kind: 'nack', offset: 1, token: 1, options: {} }, { kind: 'ack', offset: 1, token: 1, keys: ['k'] }, { kind: 'release', consumerId: 'c' }]) {
      const command = settle([{ kind: 'ack', offset: 2, token: 2 }, odd]);
      expect(packCommand(command)).toBe(command);
      expect(unpackCommand(command)).toBe(command);
    }
    const fetch: PartitionCommand = { op: 'fetch', topic: 't', partition: 0, request: { group: 'g', consumerId: 'c', max: 1, waitMs: 0 } } as PartitionCommand;
    expect(packCommand(fetch)).toBe(fetch);
  });
});
