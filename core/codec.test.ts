import { describe, expect, it } from 'vitest';
import { MESSAGE_OVERHEAD_BYTES, decodeBody, decodeMeta, decodeMetaAt, encodeMessage, frameMessages, messageSlices, messageStarts } from './codec.ts';
import { InvalidMessageError } from './errors.ts';

describe('message codec', () => {
  it('round-trips values, keys, headers, ids and bytes through a framed batch', () => {
    const messages = [
      { value: { order: 1, items: ['a', 'b'] }, key: 'k1', headers: { trace: 't' }, id: 'm-1' },
      { value: Buffer.from([0, 1, 2, 255]) },
      { value: 'plain' },
    ];
    const records = messageSlices(frameMessages(messages.map((m, i) => encodeMessage(m, i * 10, 1 << 20))));
    expect(records.map(decodeMeta)).toEqual([
      { key: 'k1', id: 'm-1', deliverAt: 0 },
      { key: undefined, id: undefined, deliverAt: 10 },
      { key: undefined, id: undefined, deliverAt: 20 },
    ]);
    expect(decodeBody(records[0]!)).toEqual({ value: { order: 1, items: ['a', 'b'] }, headers: { trace: 't' } });
    expect(Buffer.from(decodeBody(records[1]!).value as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(decodeBody(records[2]!)).toEqual({ value: 'plain', headers: undefined });
  });

  it('locates the records of a batch without views, agreeing with the slices and their metas', () => {
    const messages = [{ value: 'plain' }, { value: 1, key: 'k', id: 'i' }, { value: Buffer.alloc(300, 1) }, { value: 'late' }];
    const payload = frameMessages(messages.map((m, i) => encodeMessage(m, i === 3 ? 99 : 0, 1 << 20)));
    const starts = messageStarts(payload);
    const slices = messageSlices(payload);
    expect(starts).toHaveLength(messages.length + 1);
    expect(starts.at(-1)).toBe(payload.length);
    slices.forEach((record, i) => {
      expect(Buffer.from(payload.subarray(starts[i]! + 4, starts[i + 1]))).toEqual(Buffer.from(record));
      expect(decodeMetaAt(payload, starts, i)).toEqual(decodeMeta(record));
    });
    expect(decodeMetaAt(payload, starts, 1)).toEqual({ key: 'k', id: 'i', deliverAt: 0 });
    expect(decodeMetaAt(payload, starts, 3)).toEqual({ key: undefined, id: undefined, deliverAt: 99 });
    expect(messageStarts(new Uint8Array(0))).toEqual([0]);
  });

  it('gives each encoded message its own buffer (not the encoder arena)', () => {
    const a = encodeMessage({ value: 'first' }, 0, 1 << 20);
    const before = Buffer.from(a).toString('hex');
    encodeMessage({ value: 'second, longer value', key: 'k' }, 0, 1 << 20);
    expect(Buffer.from(a).toString('hex')).toBe(before);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.length);
  });

  it('rejects values msgpack cannot carry, bad fields and oversized messages with INVALID_MESSAGE', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [Symbol('s'), () => 1, { f: () => 1 }, cyclic, 2n ** 70n]) {
      expect(() => encodeMessage({ value }, 0, 1 << 20)).toThrow(InvalidMessageError);
    }
    expect(() => encodeMessage({ value: 'x'.repeat(2000) }, 0, 1000)).toThrow(/exceeds maxMessageBytes \(1000\)/);
    expect(() => encodeMessage({ value: 1, key: 5 as never }, 0, 1000)).toThrow(/key must be a string/);
    expect(() => encodeMessage({ value: 1, id: '' }, 0, 1000)).toThrow(/id must be a non-empty string/);
    expect(() => encodeMessage({ value: 1, headers: { a: 1 as never } }, 0, 1000)).toThrow(/message.headers\["a"\] must be a string \(got 1\)/);
    expect(() => encodeMessage(null as never, 0, 1000)).toThrow(InvalidMessageError);
  });

  it('counts 13 bytes of a message against maxMessageBytes besides a bytes value, and says so when it refuses one (a new-user trial)', () => {
    expect(MESSAGE_OVERHEAD_BYTES).toBe(13);
    const max = 1 << 20;
    // Bytes take the fast path (no msgpack pass), a long string the msgpack one: both count alike.
    const values = (n: number) => [new Uint8Array(n), 'x'.repeat(n)];
    for (const value of values(max - MESSAGE_OVERHEAD_BYTES)) expect(encodeMessage({ value }, 0, max).length).toBe(max);
    for (const value of values(max - MESSAGE_OVERHEAD_BYTES + 1)) expect(() => encodeMessage({ value }, 0, max)).toThrow(/exceeds maxMessageBytes \(1048576\).*13 bytes/);
  });
});

describe('plain message meta', () => {
  it('is the msgpack encoding of [null, null, 0]', async () => {
    const { Packr } = await import('msgpackr');
    expect(Buffer.from(new Packr({ useRecords: false }).pack([null, null, 0]))).toEqual(Buffer.from([0x93, 0xc0, 0xc0, 0x00]));
  });
});

describe('byte values without headers', () => {
  it.each([0, 1, 255, 256, 65535, 65536])('round-trip at %i bytes, the same as msgpackr would encode them', async (length) => {
    const { Packr } = await import('msgpackr');
    const value = Buffer.alloc(length, 7);
    const record = encodeMessage({ value }, 0, 1 << 20);
    expect(Buffer.from(decodeBody(record).value as Uint8Array).equals(value)).toBe(true);
    expect(decodeBody(record).headers).toBeUndefined();
    const body = record.subarray(2 + 4);
    expect(Buffer.from(body)).toEqual(Buffer.from(new Packr({ useRecords: false }).pack([value, null])));
  });
});
