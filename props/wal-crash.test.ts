// Crash properties of the write-ahead log on the in-memory fault disk: for random batches, fsync
// policies, sync completion orders and a crash (process or power) at a random point, recovery
// returns exactly a prefix of what was appended, containing every confirmed batch, and nothing
// it returns fails its CRC. Replay a failure with the FC_SEED/FC_PATH it prints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptSegmentError } from '../wal/errors.ts';
import type { WriteAheadLog } from '../wal/log.ts';
import { driveSyncs, memoryLogSetup, payloadOf, settle } from '../wal/testing.ts';
import { propertySettings } from './fast-check-settings.ts';

type Op =
  | { kind: 'append'; records: number; size: number }
  | { kind: 'release'; count: number; shuffle: boolean }
  | { kind: 'tick' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 8, max: 600 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), count: fc.integer({ min: 1, max: 3 }), shuffle: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('tick' as const) }), weight: 1 },
);

const scenarioArb = fc.record({
  diskSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fsync: fc.constantFrom('always' as const, 'interval' as const, 'none' as const),
  segmentBytes: fc.integer({ min: 300, max: 4000 }),
  shortWrite: fc.constantFrom(0, 0, 0.3),
  fsyncFailure: fc.constantFrom(0, 0, 0, 0.05),
  capacityBytes: fc.constantFrom(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 3000, 9000),
  ops: fc.array(opArb, { minLength: 1, maxLength: 50 }),
  crash: fc.constantFrom('process' as const, 'power' as const),
});

interface Appended {
  readonly payload: Uint8Array;
  readonly records: number;
  baseOffset: number;
  confirmed: boolean;
}

function readEverything(log: WriteAheadLog) {
  return log.read(log.startOffset, { maxBytes: Number.MAX_SAFE_INTEGER, upToOffset: log.nextOffset });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

describe('write-ahead log under crashes (property)', () => {
  it('recovers exactly a prefix of the appends that holds every confirmed one', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const setup = memoryLogSetup(s.diskSeed, { syncs: 'manual', faults: { shortWrite: s.shortWrite } }, { fsync: s.fsync, segmentBytes: s.segmentBytes, indexIntervalBytes: 256 });
        const log = await driveSyncs(setup.fs, setup.open());
        // Faults start once the log is open: a failed sync or a full disk rejects appends, never
        // loses a confirmed one; a rejected write leaves nothing behind.
        Object.assign(setup.fs.faults, { fsyncFailure: s.fsyncFailure, capacityBytes: s.capacityBytes });
        const appended: Appended[] = [];
        for (const op of s.ops) {
          if (op.kind === 'append') {
            const entry: Appended = { payload: payloadOf(appended.length, op.size), records: op.records, baseOffset: -1, confirmed: false };
            const before = log.nextOffset;
            const pending = log.append({ recordCount: op.records, payload: entry.payload, timestamp: appended.length });
            if (log.nextOffset > before) appended.push(entry); // written (it may still fail to sync)
            pending.then(
              (r) => { entry.baseOffset = r.baseOffset; entry.confirmed = true; },
              () => {},
            );
          } else if (op.kind === 'release') setup.fs.releaseSyncs(op.count, op.shuffle);
          await settle();
        }
        const confirmedAtCrash = appended.map((a) => a.confirmed);
        setup.fs.crash(s.crash);
        Object.assign(setup.fs.faults, { fsyncFailure: 0, capacityBytes: Number.POSITIVE_INFINITY });

        const recovered = await driveSyncs(setup.fs, setup.open());
        const batches = readEverything(recovered);
        // A prefix, byte for byte, at the offsets the log gave out.
        expect(batches.length).toBeLessThanOrEqual(appended.length);
        let offset = 0;
        batches.forEach((b, i) => {
          expect(sameBytes(b.payload, appended[i]!.payload)).toBe(true);
          expect(b.baseOffset).toBe(offset);
          expect(b.recordCount).toBe(appended[i]!.records);
          offset += appended[i]!.records;
        });
        expect(recovered.nextOffset).toBe(offset);
        // Every confirmed batch survived (under `none`, a power loss may take confirmed writes).
        if (s.fsync !== 'none' || s.crash === 'process') {
          const lastConfirmed = confirmedAtCrash.lastIndexOf(true);
          expect(batches.length).toBeGreaterThan(lastConfirmed);
        }
        // Recovering the same disk again gives the same state, and the log takes appends again.
        await driveSyncs(setup.fs, recovered.close());
        const again = await driveSyncs(setup.fs, setup.open());
        expect(again.nextOffset).toBe(offset);
        expect(again.recovery.truncated).toBeUndefined();
        await driveSyncs(setup.fs, again.append({ recordCount: 1, payload: payloadOf(999), timestamp: 0 }));
        await driveSyncs(setup.fs, again.close());
      }),
      propertySettings(250),
    );
  });

  it('reports a flipped bit in a sealed segment and never returns the damaged batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ diskSeed: fc.nat(), count: fc.integer({ min: 8, max: 40 }), size: fc.integer({ min: 8, max: 300 }), pick: fc.nat(), position: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        async (s) => {
          const setup = memoryLogSetup(s.diskSeed, {}, { segmentBytes: 600, fsync: 'interval' });
          const log = await setup.open();
          const payloads: Uint8Array[] = [];
          for (let i = 0; i < s.count; i++) {
            payloads.push(payloadOf(i, s.size));
            await log.append({ recordCount: 1, payload: payloads[i]!, timestamp: i });
          }
          const sealed = log.segments().filter((seg) => !seg.active);
          await log.close();
          fc.pre(sealed.length > 0);
          const target = sealed[s.pick % sealed.length]!;
          const path = `${setup.dir}/${String(target.baseOffset).padStart(20, '0')}.log`;
          setup.fs.flipBit(path, s.position % target.sizeBytes, s.bit);

          const reopened = await setup.open().catch((e: unknown) => e);
          if (!(reopened instanceof Object) || !('read' in reopened)) {
            expect(reopened).toBeInstanceOf(CorruptSegmentError); // refusing to open is also a report
            return;
          }
          const wal = reopened as WriteAheadLog;
          // Reading everything must hit the damage: every byte of a sealed segment is in some batch.
          expect(() => readEverything(wal)).toThrow(CorruptSegmentError);
          // Reading batch by batch returns only intact ones, until the damaged one is reported.
          for (let offset = 0; offset < s.count; offset++) {
            let got;
            try {
              got = wal.read(offset, { maxBytes: 1 });
            } catch (error) {
              expect(error).toBeInstanceOf(CorruptSegmentError);
              expect(offset).toBeGreaterThanOrEqual(target.baseOffset);
              expect(offset).toBeLessThan(target.endOffset);
              continue;
            }
            expect(sameBytes(got[0]!.payload, payloads[offset]!)).toBe(true);
          }
          await wal.close();
        },
      ),
      propertySettings(200),
    );
  });
});
