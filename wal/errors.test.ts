import { describe, expect, it } from 'vitest';
import { CorruptSegmentError, DiskFullError, FerryError, LockedError } from './index.ts';

describe('typed errors', () => {
  it('carry a stable code, retriability and a message that says what to do', () => {
    const e = new DiskFullError('/data/x.log');
    expect(e).toBeInstanceOf(FerryError);
    expect(e.code).toBe('DISK_FULL');
    expect(e.retriable).toBe(true);
    expect(e.message).toMatch(/free space/i);
    expect(new LockedError('/d', 'process 12').message).toMatch(/close that instance/);
  });

  it('survive a thread boundary as plain data, class and details included', () => {
    const original = new CorruptSegmentError('/d/0.log', 128, 'crc mismatch');
    const wire = structuredClone(original.toWire());
    const rebuilt = FerryError.fromWire(wire);
    expect(rebuilt).toBeInstanceOf(CorruptSegmentError);
    expect(rebuilt).toBeInstanceOf(FerryError);
    expect(rebuilt.code).toBe('CORRUPT_SEGMENT');
    expect(rebuilt.details).toMatchObject({ segment: '/d/0.log', position: 128 });
    expect(rebuilt.message).toBe(original.message);
  });

  it('rebuild unknown codes as a plain FerryError', () => {
    const e = FerryError.fromWire({ code: 'SOMETHING_NEW', message: 'x', retriable: true });
    expect(e).toBeInstanceOf(FerryError);
    expect(e.retriable).toBe(true);
  });
});
