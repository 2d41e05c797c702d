// Crash properties of the write-ahead log on the in-memory fault disk: for random batches, fsync
// policies, sync completion orders and a crash (process or power) at a random point, recovery
// returns exactly a prefix of what was appended, containing every confirmed batch, and nothing
// it returns fails its CRC. Replay a failure with the FC_SEED/FC_PATH it prints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptSegmentError } from '../wal/errors.ts';
import type { WriteAheadLog } from '../wal/log.ts';
import { driveSyncs, memoryLogSetup, payloadOf, settle } from '../test-support/memory-log.ts';
import { propertySettings } from './fast-check-settings.ts';

type Op =
  | { kind: 'append'; records: number; size: number }
  | { kind: 'appendMany'; sizes: number[] }
  | { kind: 'release'; count: number; shuffle: boolean }
  | { kind: 'tick' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('append' as const), records: fc.integer({ min: 1, max: 4 }), size: fc.integer({ min: 8, max: 600 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('appendMany' as const), sizes: fc.array(fc.integer({ min: 8, max: 600 }), { minLength: 1, maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('release' as const), count: fc.integer({ min: 1, max: 3 }), shuffle: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('tick' as const) }), weight: 1 },
);

const cycleArb = fc.record({
  ops: fc.array(opArb, { minLength: 1, maxLength: 30 }),
  /** How the cycle ends: a crash of either kind, or a failed fsync followed by a reopen in the same process. */
  end: fc.constantFrom('process' as const, 'power' as const, 'fsync-failure' as const),
});

const scenarioArb = fc.record({
  diskSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  fsync: fc.constantFrom('always' as const, 'interval' as const, 'none' as const),
  segmentBytes: fc.integer({ min: 300, max: 4000 }),
  shortWrite: fc.constantFrom(0, 0, 0.3),
  fsyncFailure: fc.constantFrom(0, 0, 0, 0.05),
  capacityBytes: fc.constantFrom(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 6000, 20000),
  cycles: fc.array(cycleArb, { minLength: 1, maxLength: 3 }),
  readBytes: fc.integer({ min: 1, max: 3000 }),
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
  it('recovers exactly a prefix of the appends that holds every confirmed one, crash after crash', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const setup = memoryLogSetup(s.diskSeed, { syncs: 'manual', faults: { shortWrite: s.shortWrite } }, { fsync: s.fsync, segmentBytes: s.segmentBytes, indexIntervalBytes: 256 });
        /** What the log holds, as far as the test knows: a prefix of this must survive each crash. */
        let expected: Appended[] = [];
        let mustSurvive = 0;
        let log = await driveSyncs(setup.fs, setup.open());
        for (const cycle of s.cycles) {
          // Faults run during the cycle only: a failed sync or a full disk rejects appends, never
          // loses a confirmed one; a rejected write leaves nothing behind.
          Object.assign(setup.fs.faults, { fsyncFailure: s.fsyncFailure, capacityBytes: s.capacityBytes });
          for (const op of cycle.ops) {
            if (op.kind === 'append') {
              const entry: Appended = { payload: payloadOf(expected.length, op.size), records: op.records, baseOffset: -1, confirmed: false };
              const before = log.nextOffset;
              const pending = log.append({ recordCount: op.records, payload: entry.payload, timestamp: expected.length });
              if (log.nextOffset > before) expected.push(entry); // written (it may still fail to sync)
              pending.then((r) => { entry.baseOffset = r.baseOffset; entry.confirmed = true; }, () => {});
            } else if (op.kind === 'appendMany') {
              const entries: Appended[] = op.sizes.map((size, i) => ({ payload: payloadOf(expected.length + i, size), records: 1, baseOffset: -1, confirmed: false }));
              const before = log.nextOffset;
              const pending = log.appendMany(entries.map((e) => ({ recordCount: 1, payload: e.payload, timestamp: 0 })));
              if (log.nextOffset > before) {
                expect(log.nextOffset - before).toBe(entries.length); // all or nothing
                expected.push(...entries);
              }
              pending.then(() => entries.forEach((e) => (e.confirmed = true)), () => {});
            } else if (op.kind === 'release') setup.fs.releaseSyncs(op.count, op.shuffle);
            await settle();
          }
          const durableConfirmed = s.fsync !== 'none' || cycle.end === 'process';
          if (durableConfirmed) mustSurvive = Math.max(mustSurvive, expected.map((a) => a.confirmed).lastIndexOf(true) + 1);
          if (cycle.end === 'fsync-failure') {
            // The fsyncgate case: a sync fails, the pages are marked clean without being written,
            // and the same process reopens the log (the page cache still shows the data).
            if (log.syncedEnd < log.nextOffset && !log.failure) {
              setup.fs.failNextSyncs(1);
              await driveSyncs(setup.fs, log.sync()).catch(() => {});
            }
            await driveSyncs(setup.fs, log.close());
          } else setup.fs.crash(cycle.end);
          Object.assign(setup.fs.faults, { fsyncFailure: 0, capacityBytes: Number.POSITIVE_INFINITY });

          log = await driveSyncs(setup.fs, setup.open());
          // Read it all back in chunks of a random size: a prefix, byte for byte, at the offsets given out.
          const batches = [];
          for (let next = log.startOffset; next < log.nextOffset; ) {
            const got = log.read(next, { maxBytes: s.readBytes, upToOffset: log.nextOffset });
            expect(got.length).toBeGreaterThan(0);
            batches.push(...got);
            next = got[got.length - 1]!.baseOffset + got[got.length - 1]!.recordCount;
          }
          expect(batches.length).toBeLessThanOrEqual(expected.length);
          let offset = 0;
          batches.forEach((b, i) => {
            expect(sameBytes(b.payload, expected[i]!.payload)).toBe(true);
            expect(b.baseOffset).toBe(offset);
            expect(b.recordCount).toBe(expected[i]!.records);
            offset += expected[i]!.records;
          });
          expect(log.nextOffset).toBe(offset);
          // Every confirmed batch survived (under `none`, a power loss may take confirmed writes).
          expect(batches.length).toBeGreaterThanOrEqual(mustSurvive);
          expected = expected.slice(0, batches.length);
          for (const e of expected) e.confirmed = true; // recovery made all of it durable
          mustSurvive = expected.length;
        }
        // Recovering the same disk again gives the same state.
        await driveSyncs(setup.fs, log.close());
        const again = await driveSyncs(setup.fs, setup.open());
        expect(again.nextOffset).toBe(log.nextOffset);
        expect(again.recovery.truncated).toBeUndefined();
        await driveSyncs(setup.fs, again.close());
      }),
      propertySettings(200),
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
