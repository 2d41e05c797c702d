// `simulate()`: runs a user's workload (their topics, producers, consumers and real handlers)
// against the real engine on the in-memory fault disk, over the simulator's network, on virtual
// time. A driver moves the clock from one timer to the next and applies the run's fault plan
// (plan.ts) on the way; a crash kills the simulated process (its clients, the continuations of
// its handlers, its uncommitted transactions), reopens the engine from the bytes the disk kept,
// and runs the user's `process` functions again. Runs on the caller's thread.
//
//   seed ─► plan ─► driver: advance clock ─► faults ─► engine (fault disk, network) ─► history
//                      ▲                                    │
//                      └─── workload (world) ◄── handlers (process, dies on crash) ◄──┘
import type { Ferry } from '../../core/ferry.ts';
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import { refuseUnknownOptions } from '../../core/option-names.ts';
import { SimulationFailedError } from './errors.ts';
import { DEFAULT_HORIZON_MS, replayCall, resolvePlan } from './plan.ts';
import { contexts, SimulatedRun, WORLD } from './run.ts';
import type { SimulateOptions, Simulation, SimulationReport } from './simulation.ts';

export type { SettleOptions, SimulateOptions, SimulatedClock, SimulatedEngineOptions, Simulation, SimulationReport } from './simulation.ts';

/** Engine calls that are safe to make again after a crash: the workload's call simply succeeds later. */
const RETRIED_ACROSS_CRASHES = new Set<PropertyKey>(['createTopic']);

/**
 * A live view of the engine running now: each member is looked up on the current engine, and a
 * call that returns a promise is guarded against crashes (SimulatedRun.guard).
 */
function currentFerry(run: SimulatedRun): Ferry {
  return new Proxy({} as Ferry, {
    get(_, property) {
      const value: unknown = Reflect.get(run.ferry, property, run.ferry);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const invoke = (ferry: Ferry): unknown => (Reflect.get(ferry, property, ferry) as (...a: unknown[]) => unknown).apply(ferry, args);
        const result = invoke(run.ferry);
        // Only calls that wait on the engine are guarded (producer(), topics() return at once).
        return result instanceof Promise ? run.guard(String(property), invoke as (ferry: Ferry) => Promise<unknown>, RETRIED_ACROSS_CRASHES.has(property), result) : result;
      };
    },
  });
}

/**
 * Runs `workload` against the real engine under the faults of `options` (see the module comment
 * and docs/TESTING.md). Resolves with the run's report once the workload returned; rejects with a
 * SIMULATION_FAILED error naming the seed and the exact replay call when it threw (an assertion,
 * an invariant helper) or got stuck.
 */
export async function simulate(options: SimulateOptions, workload: (sim: Simulation) => Promise<void> | void): Promise<SimulationReport> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`simulate takes options ({ seed, faults? }) first (got ${showValue(options)})`);
  refuseUnknownOptions('simulate options', options, ['seed', 'faults', 'horizonMs', 'maxVirtualMs', 'engine']);
  const { seed } = options;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError(`simulate options.seed must be a whole number from 0 to 4294967295 (got ${showValue(seed)})`);
  if (typeof workload !== 'function') throw new InvalidArgumentError(`simulate takes the workload, async (sim) => { … }, second (got ${showValue(workload)})`);
  const horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
  if (!Number.isFinite(horizonMs) || horizonMs < 0) throw new InvalidArgumentError(`simulate options.horizonMs must be a number of ms from 0 (got ${showValue(horizonMs)})`);
  const { maxVirtualMs } = options;
  if (maxVirtualMs !== undefined && (typeof maxVirtualMs !== 'number' || !(maxVirtualMs > 0) || !Number.isFinite(maxVirtualMs))) throw new InvalidArgumentError(`simulate options.maxVirtualMs must be a number of ms above 0 (got ${showValue(maxVirtualMs)})`);
  const plan = resolvePlan(seed, options.faults ?? 'random', horizonMs);
  const replay = replayCall(seed, plan, workload.name);
  const run = new SimulatedRun(options, plan);
  const sim: Simulation = {
    seed,
    plan,
    ferry: currentFerry(run),
    clock: { now: () => run.clock.now(), monotonicNow: () => run.clock.monotonicNow() },
    random: run.random,
    history: run.history,
    process: (start) => run.process(start, true),
    onRestart: (start) => run.process(start, false),
    onCrash: (fn) => run.onCrash(fn),
    sleep: (ms) => run.sleep(ms),
    store: (name) => run.store(name),
    effect: (name, key, data) => run.effect(name, key, data),
    publish: (topic, messages) => run.publish(topic, messages),
    crash: (kind = 'process') => run.crash(kind),
    settle: (settleOptions) => run.settle(settleOptions),
  };
  await run.open(); // before any fault: only bad engine options fail it, with their own error
  try {
    await run.drive(contexts.run(WORLD, async () => workload(sim)));
  } catch (error) {
    throw new SimulationFailedError(seed, plan, replay, run.summary(), error);
  }
  return { seed, plan, history: run.history, replay, virtualMs: run.clock.monotonicNow(), restarts: run.restarts };
}
