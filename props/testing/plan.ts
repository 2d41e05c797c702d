// Fault plans of `ferry/testing`: what goes wrong, and when, in one simulated run. A plan is plain
// data (so a failure prints it and replays it exactly): a list of timed events (crashes, power
// loss, pauses that outlive leases, clock jumps, failed fsyncs, a full disk) and per-message rates
// for the simulated network and for duplicate publishes. Rates given by the user, or picked by the
// seed, are turned into such a list up front.
import { InvalidArgumentError, SeededRandom, type Random, showValue } from '../../wal/index.ts';

/** The faults a plan can schedule. */
export type FaultKind = 'crash' | 'powerLoss' | 'pause' | 'clockJump' | 'fsyncFailure' | 'diskFull';

/** All fault kinds, in the order rates are drawn (append new kinds at the end: seeds keep their plans). */
export const FAULT_KINDS: readonly FaultKind[] = ['crash', 'powerLoss', 'pause', 'clockJump', 'fsyncFailure', 'diskFull'];

/**
 * One fault at a moment of virtual time (ms since the run started).
 * - `crash`: the process dies; the OS keeps what it was given (unsynced writes survive), the
 *   engine reopens, `sim.process` functions run again.
 * - `powerLoss`: as `crash`, but only what was synced survives.
 * - `pause`: the process stalls for `ms` (a GC pause, a stopped VM): timers fire late, leases
 *   that ran out meanwhile are handed to someone else.
 * - `clockJump`: the wall clock steps by `ms` (NTP, a laptop waking); durations do not move.
 * - `fsyncFailure`: the next fsync fails; the log stops confirming, and the process restarts
 *   `ms` later (as a supervisor would) to recover from what is on disk.
 * - `diskFull`: writes fail with DISK_FULL for `ms`.
 */
export interface FaultEvent {
  readonly atMs: number;
  readonly kind: FaultKind;
  /** Length of a pause, a full disk or the wait before the restart after a failed fsync; size of a clock jump. */
  readonly ms?: number;
}

/** Faults of the simulated network between the engine's clients and its partitions, per message. */
export interface NetworkPlan {
  /** A request or reply is lost (a lost ack: the message is delivered again when its lease ends). */
  readonly drop: number;
  /** A request arrives twice. */
  readonly duplicate: number;
  /** Share of messages that take a delay of up to `maxDelayMs` (the rest arrive on the next turn). */
  readonly delay: number;
  readonly maxDelayMs: number;
}

/** Every fault of one run, explicitly: what `simulate` prints for a replay. */
export interface FaultPlan {
  /** Sorted by `atMs`. */
  readonly events: readonly FaultEvent[];
  readonly network: NetworkPlan;
  /** Probability that `sim.publish` sends a message a second time (a producer that retried after a lost confirm). */
  readonly duplicatePublish: number;
}

/**
 * Fault rates: the `FaultKind` fields are events per virtual second, the rest probabilities per
 * message. Missing fields are 0. `simulate` draws the events from its seed.
 */
export interface FaultRates {
  readonly crash?: number;
  readonly powerLoss?: number;
  readonly pause?: number;
  readonly clockJump?: number;
  readonly fsyncFailure?: number;
  readonly diskFull?: number;
  readonly drop?: number;
  readonly duplicate?: number;
  readonly duplicatePublish?: number;
}

/** What `simulate` accepts as `faults`: none, rates the seed picks ('random', the default), rates, or a plan. */
export type FaultsOption = 'none' | 'random' | FaultRates | FaultPlan;

/** Messages take a little virtual time by default, so faults land while work is in flight. */
const CALM_NETWORK: NetworkPlan = Object.freeze({ drop: 0, duplicate: 0, delay: 0.5, maxDelayMs: 20 });

/** What `simulate` takes, drawn: a seed and an explicit fault plan. */
export interface SimulationInput {
  readonly seed: number;
  readonly faults: FaultPlan;
}

/** Options of `faultPlans`. */
export interface FaultPlanOptions {
  /** Kinds of faults to schedule. Default all. */
  readonly kinds?: readonly FaultKind[];
  /** Faults fall within this much virtual time. Default 30000 ms. */
  readonly horizonMs?: number;
  /** Most faults in a plan. Default 8. */
  readonly maxEvents?: number;
  /** Lost and duplicated network messages. Default true. */
  readonly network?: boolean;
  /** Duplicate publishes by `sim.publish`. Default true. */
  readonly duplicatePublish?: boolean;
}

/** Faults are drawn over this much virtual time unless told otherwise. */
export const DEFAULT_HORIZON_MS = 30_000;

const RATE_NAMES: readonly (keyof FaultRates)[] = [...FAULT_KINDS, 'drop', 'duplicate', 'duplicatePublish'];

/** The rates the seed picks: some runs calm, some brutal, as the engine's own swarm does. */
export function randomRates(random: Random): Required<FaultRates> {
  const pick = (xs: readonly number[]): number => xs[random.int(xs.length)]!;
  return {
    crash: pick([0, 0.1, 0.5]),
    powerLoss: pick([0, 0, 0.2]),
    pause: pick([0, 0.1, 0.3]),
    clockJump: pick([0, 0.1]),
    fsyncFailure: pick([0, 0, 0.05]),
    diskFull: pick([0, 0, 0.05]),
    drop: pick([0, 0.01, 0.03]),
    duplicate: pick([0, 0.02, 0.1]),
    duplicatePublish: pick([0, 0.05, 0.2]),
  };
}

/** The length (or size) of an event of `kind`, drawn. */
function drawMs(kind: FaultKind, random: Random): number | undefined {
  switch (kind) {
    case 'pause':
      return 500 + random.int(4500);
    case 'clockJump':
      return (random.chance(0.5) ? -1 : 1) * (1000 + random.int(3_600_000));
    case 'fsyncFailure':
      return 50 + random.int(500);
    case 'diskFull':
      return 100 + random.int(3000);
    default:
      return undefined;
  }
}

/** Events at `rates` (per virtual second) over `horizonMs`: a Poisson process per kind. */
export function drawEvents(rates: FaultRates, horizonMs: number, random: Random): FaultEvent[] {
  const events: FaultEvent[] = [];
  for (const kind of FAULT_KINDS) {
    const perMs = (rates[kind] ?? 0) / 1000;
    if (perMs <= 0) continue;
    for (let at = -Math.log(1 - random.next()) / perMs; at < horizonMs; at += -Math.log(1 - random.next()) / perMs) {
      const ms = drawMs(kind, random);
      events.push({ atMs: Math.round(at), kind, ...(ms === undefined ? {} : { ms }) });
    }
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

function checkRate(name: string, value: unknown, max: number): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) throw new InvalidArgumentError(`faults.${name} must be a number from 0 to ${max} (got ${showValue(value)})`);
  return value;
}

function checkPlan(plan: FaultPlan): FaultPlan {
  if (!Array.isArray(plan.events)) throw new InvalidArgumentError(`faults.events must be an array of { atMs, kind, ms? } (got ${showValue(plan.events)})`);
  const events = plan.events.map((e, i) => {
    if (!FAULT_KINDS.includes(e?.kind)) throw new InvalidArgumentError(`faults.events[${i}].kind must be one of ${FAULT_KINDS.join(', ')} (got ${showValue(e?.kind)})`);
    if (!Number.isSafeInteger(e.atMs) || e.atMs < 0) throw new InvalidArgumentError(`faults.events[${i}].atMs must be a whole number of virtual ms from 0 (got ${showValue(e.atMs)})`);
    if (e.ms !== undefined && !Number.isFinite(e.ms)) throw new InvalidArgumentError(`faults.events[${i}].ms must be a number (got ${showValue(e.ms)})`);
    return Object.freeze({ ...e });
  });
  const n = plan.network ?? CALM_NETWORK;
  const network = Object.freeze({ drop: checkRate('network.drop', n.drop, 1), duplicate: checkRate('network.duplicate', n.duplicate, 1), delay: checkRate('network.delay', n.delay, 1), maxDelayMs: checkRate('network.maxDelayMs', n.maxDelayMs, 60_000) });
  return Object.freeze({ events: Object.freeze(events.sort((a, b) => a.atMs - b.atMs)), network, duplicatePublish: checkRate('duplicatePublish', plan.duplicatePublish, 1) });
}

/** The explicit plan of a run: `faults` as given, or drawn from `seed` (same seed, same plan). */
export function resolvePlan(seed: number, faults: FaultsOption, horizonMs: number): FaultPlan {
  const random = new SeededRandom(seed).fork('faults');
  if (faults === 'none') return checkPlan({ events: [], network: CALM_NETWORK, duplicatePublish: 0 });
  if (typeof faults === 'object' && faults !== null && 'events' in faults) return checkPlan(faults);
  let rates: FaultRates;
  if (faults === 'random') rates = randomRates(random);
  else if (typeof faults === 'object' && faults !== null) {
    for (const name of Object.keys(faults)) if (!RATE_NAMES.includes(name as keyof FaultRates)) throw new InvalidArgumentError(`unknown fault rate ${JSON.stringify(name)}; known: ${RATE_NAMES.join(', ')}`);
    rates = Object.fromEntries(RATE_NAMES.map((name) => [name, checkRate(name, faults[name], name in CALM_NETWORK || name === 'duplicatePublish' ? 1 : 1000)]));
  } else throw new InvalidArgumentError(`faults must be 'none', 'random', rates ({ crash: 0.2, drop: 0.01, … }) or a plan ({ events, network, duplicatePublish }) (got ${showValue(faults)})`);
  return checkPlan({
    events: drawEvents(rates, horizonMs, random),
    network: { ...CALM_NETWORK, drop: rates.drop ?? 0, duplicate: rates.duplicate ?? 0 },
    duplicatePublish: rates.duplicatePublish ?? 0,
  });
}

/**
 * How far the plan steps the wall clock back in all: a retry or lease the engine logged in wall
 * time is due that much later after a restart, so the run's time limits grow by it.
 */
export function backwardJumpsMs(plan: FaultPlan): number {
  return plan.events.reduce((sum, e) => sum + (e.kind === 'clockJump' && (e.ms ?? 0) < 0 ? -(e.ms ?? 0) : 0), 0);
}

/** The call that replays a run exactly, for a failure report. */
export function replayCall(seed: number, plan: FaultPlan, workloadName: string): string {
  return `simulate({ seed: ${seed}, faults: ${JSON.stringify(plan)} }, ${workloadName || 'workload'})`;
}
