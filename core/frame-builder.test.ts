// Issue 11: a producer encodes each message straight into its lane's next batch (FrameBuilder)
// instead of a buffer of its own copied in later. The batch must hold exactly what framing the
// separately encoded records gives, across growth of the buffer and a batch cut short.
import { describe, expect, it } from 'vitest';
import { FrameBuilder, encodeMessage, frameMessages, planMessage, writeMessageInto, type Message } from './codec.ts';

const messages: Message[] = [
  { value: new Uint8Array(100).fill(7) },
  { value: Buffer.alloc(300, 1) },
  { value: { order: 1 }, key: 'k', headers: { h: 'v' }, id: 'i' },
  { value: new Uint8Array(70_000).fill(3) }, // a 3-byte-length bin header
  { value: 'plain' },
];

/** A delivery time for one of them, so a meta is packed too. */
const deliverAt = (m: Message): number => (m === messages[4] ? 99 : 0);
const encode = (m: Message): Uint8Array => encodeMessage(m, deliverAt(m), 1 << 20);

/** Every other message encoded in place, the others appended as records (publishMany's way). */
function build(frame: FrameBuilder, list: readonly Message[]): void {
  list.forEach((m, i) => (i % 2 === 0 ? writeMessageInto(planMessage(m, deliverAt(m), 1 << 20), frame) : frame.append(encode(m))));
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

describe('FrameBuilder', () => {
  it('frames messages encoded in place exactly as frameMessages frames them, growing from a tiny buffer', () => {
    const frame = new FrameBuilder(8);
    const list = [...messages, ...messages, ...messages];
    build(frame, list);
    const expected = frameMessages(list.map(encode));
    expect(frame.length).toBe(expected.length);
    expect(same(frame.take(frame.length), expected)).toBe(true);
    expect(frame.length).toBe(0);
  });

  it('takes the first records as a batch of their own and keeps the rest in order', () => {
    const frame = new FrameBuilder(16);
    build(frame, messages);
    const records = messages.map(encode);
    const firstTwo = 8 + records[0]!.length + records[1]!.length;
    const first = frame.take(firstTwo);
    expect(same(first, frameMessages(records.slice(0, 2)))).toBe(true);
    expect(same(frame.take(frame.length), frameMessages(records.slice(2)))).toBe(true);
    // The batch taken first is untouched by what the builder does next.
    build(frame, messages);
    expect(same(first, frameMessages(records.slice(0, 2)))).toBe(true);
  });

  it('keeps a long queue in order while batches are taken from its front, in a buffer bounded by the queue', () => {
    const frame = new FrameBuilder(64);
    const records = Array.from({ length: 2000 }, (_, i) => encodeMessage({ value: new Uint8Array(50).fill(i & 0xff) }, 0, 1 << 20));
    const taken: Uint8Array[] = [];
    let next = 0;
    let queued = 0;
    let capacity = 0;
    for (const r of records) {
      frame.append(r);
      capacity = Math.max(capacity, frame.bytes.length);
      if (++queued === 300) {
        // A batch of the 100 oldest, the rest stays queued behind it (a producer past maxBatchMessages).
        const bytes = records.slice(next, next + 100).reduce((n, x) => n + 4 + x.length, 0);
        taken.push(frame.take(bytes));
        next += 100;
        queued -= 100;
      }
    }
    taken.push(frame.take(frame.length));
    expect(same(Buffer.concat(taken), frameMessages(records))).toBe(true);
    // The buffer never outgrew a few times the queue (at most 300 records): taken bytes are reused.
    expect(capacity).toBeLessThanOrEqual(4 * 300 * (4 + records[0]!.length));
  });

  it('drops every record not yet taken when its messages fail', () => {
    const frame = new FrameBuilder();
    frame.append(encodeMessage({ value: 'a' }, 0, 1 << 20));
    frame.clear();
    frame.append(encodeMessage({ value: 'b' }, 0, 1 << 20));
    expect(same(frame.take(frame.length), frameMessages([encodeMessage({ value: 'b' }, 0, 1 << 20)]))).toBe(true);
  });
});
