import { describe, expect, it } from 'vitest';
import { HEADER_BYTES, checkHeader, crcMatches, decodeHeader, encodeHeader } from './batch-format.ts';

function frame(payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + payload.length);
  encodeHeader(bytes.subarray(0, HEADER_BYTES), { type: 7, recordCount: 3, producerId: 2 ** 40 + 5, producerEpoch: 9, baseSequence: 123, timestamp: 1_700_000_000_123 }, payload, 2 ** 33 + 1, 0xdeadbeef, 77);
  bytes.set(payload, HEADER_BYTES);
  return bytes;
}

describe('batch framing', () => {
  it('round-trips every header field, including values past 32 bits', () => {
    const bytes = frame(new Uint8Array([1, 2, 3]));
    expect(checkHeader(bytes, 0, bytes.length)).toBeUndefined();
    const h = decodeHeader(bytes, 0);
    expect(h).toMatchObject({ length: HEADER_BYTES + 3, type: 7, recordCount: 3, producerId: 2 ** 40 + 5, producerEpoch: 9, baseSequence: 123, timestamp: 1_700_000_000_123, baseOffset: 2 ** 33 + 1, previousCrc: 0xdeadbeef, durableEnd: 77 });
    expect(crcMatches(bytes, 0, h)).toBe(true);
  });

  it('detects a flipped bit anywhere after the magic word', () => {
    const clean = frame(new Uint8Array(50).fill(9));
    for (let i = 4; i < clean.length; i++) {
      if (i >= 8 && i < 12) continue; // the length field is checked by the reader's bounds instead
      const bytes = clean.slice();
      bytes[i]! ^= 0x10;
      const h = decodeHeader(bytes, 0);
      expect(checkHeader(bytes, 0, bytes.length) !== undefined || !crcMatches(bytes, 0, h), `byte ${i}`).toBe(true);
    }
  });

  it('never parses zero-filled space as a batch', () => {
    expect(checkHeader(new Uint8Array(128), 0, 128)).toBe('bad magic');
  });

  it('rejects an impossible length before trusting it', () => {
    const bytes = frame(new Uint8Array(4));
    new DataView(bytes.buffer).setUint32(8, 10, true);
    expect(checkHeader(bytes, 0, bytes.length)).toBe('impossible length');
  });
});
