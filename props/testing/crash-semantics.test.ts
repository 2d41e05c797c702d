// What a simulated crash does to the user's code and state (issue 16): committed transactions
// survive, uncommitted ones and the dead process's continuations do not; publishes and consumers
// carry on in the restarted process; power loss takes what was not synced.
import { describe, expect, it } from 'vitest';
import { expectHandledAtLeastOnce, simulate, type Simulation } from './index.ts';

/** Consumes `topic` as group `group` in every run of the process, recording each message handled. */
function consume(sim: Simulation, topic: string, group = 'g', handle: () => Promise<void> = async () => {}): void {
  sim.process((ferry) => ferry.consumer<number>(group, { topics: [topic] }).run(async (d) => {
    await handle();
    sim.effect('handled', String(d.value));
  }));
}

describe('a simulated crash', () => {
  it('keeps what a transaction committed, loses one not yet committed, and never resumes the dead process', async () => {
    let resumed = false;
    let starts = 0;
    const report = await simulate({ seed: 1, faults: 'none' }, async (sim) => {
      const db = sim.store<number>('db');
      sim.process(() => {
        if (starts++ > 0) return;
        void (async () => {
          await db.transaction((tx) => tx.set('committed', 1));
          await sim.sleep(100);
          void db.transaction((tx) => tx.set('in-flight', 2)); // commits a few ms later: after the crash
          await sim.sleep(1000);
          resumed = true;
          sim.effect('after-crash', 'x');
        })();
      });
      await sim.sleep(100); // wakes just after the process's own 100 ms sleep
      await sim.crash();
      await sim.sleep(5000);
      expect(db.get('committed')).toBe(1);
      expect(db.has('in-flight')).toBe(false);
    });
    expect(starts).toBe(2); // once at the start, once after the restart
    expect(resumed).toBe(false);
    expect(report.history.effects).toEqual([]);
    expect(report.restarts).toBe(1);
  });

  it('lets sim.publish confirm across crashes, and the consumer re-created by process() handles every message', async () => {
    const plan = { events: [{ atMs: 30, kind: 'crash' as const }, { atMs: 200, kind: 'crash' as const }], network: { drop: 0, duplicate: 0, delay: 0.5, maxDelayMs: 20 }, duplicatePublish: 0 };
    const report = await simulate({ seed: 2, faults: plan }, async (sim) => {
      await sim.ferry.createTopic('t', { ackTimeoutMs: 500 });
      consume(sim, 't', 'g', () => sim.sleep(20));
      for (let i = 0; i < 10; i++) {
        await sim.publish('t', { value: i });
        await sim.sleep(20);
      }
      await sim.settle();
      expectHandledAtLeastOnce(sim.history, { group: 'g' });
    });
    expect(report.restarts).toBe(2);
    expect(new Set(report.history.effects.map((e) => e.key))).toEqual(new Set(Array.from({ length: 10 }, (_, i) => String(i))));
  });

  it("fails a publish in flight through the dead engine's own producer with SIMULATED_CRASH", async () => {
    await simulate({ seed: 3, faults: { events: [{ atMs: 0, kind: 'fsyncFailure', ms: 10 }], network: { drop: 0, duplicate: 0, delay: 1, maxDelayMs: 20 }, duplicatePublish: 0 } }, async (sim) => {
      await sim.ferry.createTopic('t');
      const producer = sim.ferry.producer();
      const pending = producer.publish('t', { value: 1 });
      const crash = sim.crash();
      await expect(pending).rejects.toMatchObject({ code: 'SIMULATED_CRASH', retriable: true });
      await crash;
    });
  });

  it('after power loss, loses messages confirmed under fsync "none", and the at-least-once check names them; a process crash keeps them', async () => {
    const workload = (kind: 'power' | 'process') => async (sim: Simulation) => {
      await sim.ferry.createTopic('t');
      await sim.publish('t', [{ value: 1 }, { value: 2 }]);
      await sim.crash(kind);
      consume(sim, 't');
      await sim.settle();
      expectHandledAtLeastOnce(sim.history, { group: 'g' });
    };
    // Seed 2's power loss drops the unsynced pages (the disk keeps, loses or tears each dirty page, by seed).
    const lost = await simulate({ seed: 2, faults: 'none', engine: { fsync: 'none' } }, workload('power')).then(() => undefined, (e: unknown) => e as Error);
    expect(lost?.message).toMatch(/every message handled at least once by g does not hold:\n {2}t\/0@0, confirmed at \d+ ms, was never acked nor dead-lettered/);
    await simulate({ seed: 2, faults: 'none', engine: { fsync: 'none' } }, workload('process'));
  });
});

describe('other faults', () => {
  const calm = { network: { drop: 0, duplicate: 0, delay: 0, maxDelayMs: 0 }, duplicatePublish: 0 };
  const pauseRun = (events: { atMs: number; kind: 'pause'; ms: number }[]) =>
    simulate({ seed: 5, faults: { events, ...calm } }, async (sim) => {
      await sim.ferry.createTopic('t', { ackTimeoutMs: 1000 });
      consume(sim, 't', 'g', () => sim.sleep(100));
      await sim.publish('t', { value: 1 });
      await sim.sleep(5000); // settle() stops the faults: let the pause come first
      await sim.settle();
    });

  it('a pause longer than the lease, while a handler holds a message, gets it delivered again', async () => {
    const paused = await pauseRun([{ atMs: 50, kind: 'pause', ms: 3000 }]);
    expect(paused.history.deliveries.map((d) => d.attempt)).toEqual([1, 2]);
    expect(paused.history.faults).toEqual([{ atMs: 50, kind: 'pause', ms: 3000 }]);
    const calmRun = await pauseRun([]);
    expect(calmRun.history.deliveries.map((d) => d.attempt)).toEqual([1]);
  });

  it('a clock jump moves wall time, not virtual time', async () => {
    await simulate({ seed: 6, faults: { events: [{ atMs: 100, kind: 'clockJump', ms: 3_600_000 }], ...calm } }, async (sim) => {
      const wall = sim.clock.now();
      await sim.sleep(200);
      expect(sim.clock.now() - wall).toBe(3_600_200);
      expect(sim.clock.monotonicNow()).toBe(200);
    });
  });

  it('a full disk holds publishes back until space returns, then they are confirmed', async () => {
    const report = await simulate({ seed: 7, faults: { events: [{ atMs: 10, kind: 'diskFull', ms: 500 }], ...calm } }, async (sim) => {
      await sim.ferry.createTopic('t');
      await sim.sleep(20);
      await sim.publish('t', { value: 1 });
    });
    expect(report.history.faults.map((f) => f.kind)).toEqual(['diskFull']);
    expect(report.history.published).toHaveLength(1);
    expect(report.history.published[0]!.atMs).toBeGreaterThanOrEqual(510);
  });

  it('a failed fsync restarts the process, and nothing confirmed is lost', async () => {
    const report = await simulate({ seed: 8, faults: { events: [{ atMs: 40, kind: 'fsyncFailure', ms: 100 }], ...calm } }, async (sim) => {
      await sim.ferry.createTopic('t');
      consume(sim, 't');
      for (let i = 0; i < 10; i++) {
        await sim.publish('t', { value: i });
        await sim.sleep(10);
      }
      await sim.settle();
      expectHandledAtLeastOnce(sim.history, { group: 'g' });
    });
    expect(report.restarts).toBe(1);
    expect(report.history.faults.map((f) => f.kind)).toEqual(['fsyncFailure', 'crash']);
  });
});
