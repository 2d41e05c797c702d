// The public types of `simulate()`: its options, what the workload gets (`sim`), and its report.
import type { Message } from '../../core/codec.ts';
import type { Ferry, FerryOptions } from '../../core/ferry.ts';
import type { PublishResult } from '../../core/producer.ts';
import type { Random } from '../../wal/index.ts';
import type { SimulationHistory } from './history.ts';
import type { FaultPlan, FaultsOption } from './plan.ts';
import type { SimulatedStore } from './store.ts';

/** Engine options a simulation may set (the seams and the directory are its own). */
export type SimulatedEngineOptions = Omit<Partial<FerryOptions>, 'dir' | 'fs' | 'clock' | 'random' | 'threads'>;

/** Options of `simulate`. */
export interface SimulateOptions {
  /** Picks every choice of the run: the same seed (and workload) replays it exactly. */
  readonly seed: number;
  /** Default 'random': the seed picks the fault rates. See FaultsOption. */
  readonly faults?: FaultsOption;
  /** Virtual time over which rated faults are drawn. Default 30000 ms. */
  readonly horizonMs?: number;
  /** Virtual time after which a workload that has not finished fails as stuck. Default 600000 ms, plus the plan's backward clock jumps. */
  readonly maxVirtualMs?: number;
  /** Engine options (fsync policy, segment size, limits). Default fsync 'interval'. */
  readonly engine?: SimulatedEngineOptions;
}

/** Options of `sim.settle()`. */
export interface SettleOptions {
  /** How long nothing must have been delivered or settled. Default 3000 ms of virtual time. */
  readonly quietMs?: number;
  /**
   * Give up (SIMULATION_STUCK, naming the groups behind) after this long. Default 300000 ms, plus
   * the size of the run's backward clock jumps (a retry the engine logged in wall time waits that
   * much longer after a restart).
   */
  readonly timeoutMs?: number;
}

/** The simulation's clock, as the workload sees it. */
export interface SimulatedClock {
  /** Wall time (jumps with clock-jump faults). */
  now(): number;
  /** Virtual ms since the run started; never jumps. */
  monotonicNow(): number;
}

/** What the workload gets. Every member works destructured. */
export interface Simulation {
  readonly seed: number;
  /** The explicit fault plan of this run. */
  readonly plan: FaultPlan;
  /**
   * The engine running now (after a crash, the reopened one). Producers and consumers taken from
   * it belong to the current process and die with it: create consumers in `process()`.
   */
  readonly ferry: Ferry;
  readonly clock: SimulatedClock;
  /** A seeded random stream for the workload's own choices (a handler failing now and then). */
  readonly random: Random;
  readonly history: SimulationHistory;
  /**
   * Runs `start(ferry)` now, inside the simulated process, and again after every restart:
   * create your consumers here. Code it starts (handlers included) dies with the process.
   */
  process(start: (ferry: Ferry) => unknown): void;
  /** Runs `start(ferry)` after every restart (not now), inside the new process. */
  onRestart(start: (ferry: Ferry) => unknown): void;
  /** Runs `fn` at each crash, before the restart: forget your process's in-memory state here. */
  onCrash(fn: () => void): void;
  /** Waits `ms` of virtual time. In a process that crashes meanwhile, never resolves. */
  sleep(ms: number): Promise<void>;
  /** A database table that survives crashes; the same name gives the same table. */
  store<V>(name: string): SimulatedStore<V>;
  /** Records an effect on the outside world (an email sent, a card charged). A dead process has none. */
  effect(name: string, key: string, data?: unknown): void;
  /**
   * Publishes as an at-least-once application does: retries across crashes, a full disk and lost
   * replies until confirmed (so a message may be stored twice), and with the plan's
   * `duplicatePublish` chance sends it once more.
   */
  publish<V>(topic: string, messages: Message<V> | readonly Message<V>[]): Promise<PublishResult[]>;
  /** Crashes the process now (`power`: unsynced writes are lost too) and resolves once it restarted. */
  crash(kind?: 'process' | 'power'): Promise<void>;
  /**
   * Stops the faults, then runs until every group has settled every message and nothing moved for
   * `quietMs`, reading the dead letters into the history. Check invariants after it.
   */
  settle(options?: SettleOptions): Promise<void>;
}

/** What `simulate` resolves with once the workload passed. */
export interface SimulationReport {
  readonly seed: number;
  readonly plan: FaultPlan;
  readonly history: SimulationHistory;
  /** The call that replays this run. */
  readonly replay: string;
  readonly virtualMs: number;
  readonly restarts: number;
}
