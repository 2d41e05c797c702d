// One shard on the main thread: a single-worker piscina pool used as a supervisor, a MessagePort
// as the data path, the requests in flight, and the restart policy. When the worker dies, every
// request in flight fails at once with a retriable SHARD_CRASHED; the shard restarts on a fresh
// worker, which recovers its partitions from their logs; a crash loop ends in SHARD_FAILED.
//
//   request ─► await ready ─► port.postMessage ─► worker ─► reply ─► resolve / reject(typed)
//   attach task settles ─► crash: reject in-flight, back off, attach again, reopen partitions
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FerryError, InvalidArgumentError, OverloadedError, registerErrorCode } from '../wal/index.ts';
import { FAULT_DRILLS, transferables, type DeadLetterUpcall, type FaultDrill, type PortMessage, type Reply, type ShardCall, type ShardConfig, type ShardRequest } from './protocol.ts';

/** The shard's worker died with this request in flight; it may or may not have been applied. */
export class ShardCrashedError extends FerryError {
  static readonly code = 'SHARD_CRASHED';
  constructor(shard: number, cause: unknown) {
    // Its partitions restart from their logs: leases held there are gone, their messages come again.
    super(ShardCrashedError.code, `shard ${shard} (a worker thread) died with this request in flight; it restarts and recovers from its log, so retry (producers do, with the same sequence)`, true, { cause, details: { shard, leasesLost: true } });
  }
}

/** The shard crashed too often in too short a time and was given up. */
export class ShardFailedError extends FerryError {
  static readonly code = 'SHARD_FAILED';
  constructor(shard: number, restarts: number, windowMs: number, cause: unknown) {
    super(ShardFailedError.code, `shard ${shard} crashed ${restarts} times within ${windowMs} ms and was stopped; see the cause, fix it, then reopen Ferry`, false, { cause, details: { shard, restarts, leasesLost: true } });
  }
}
registerErrorCode(ShardCrashedError.code, ShardCrashedError as unknown as typeof FerryError);
registerErrorCode(ShardFailedError.code, ShardFailedError as unknown as typeof FerryError);

/** Restart budget: at most `maxRestarts` within `windowMs`, each after an exponential backoff. */
export interface RestartPolicy {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoffMs: number;
}

/** How to kill a shard's worker on purpose: `terminate` from outside, or a {@link FaultDrill} from inside. */
export type ShardDeath = 'terminate' | FaultDrill;

/** A shard's supervision state, for operators and tests. */
export interface ShardHealth {
  /** Restarts since the shard was opened (after crashes, each on a fresh worker). */
  readonly restarts: number;
  /** True once the restart budget ran out: requests fail with SHARD_FAILED until Ferry is reopened. */
  readonly failed: boolean;
}

/** What a shard asks of the runtime that owns it. */
export interface ShardHooks {
  /** A dead letter the worker wants published (its partition may be on another shard). */
  onUpcall(upcall: DeadLetterUpcall): Promise<void>;
  /** Requests that reopen this shard's partitions on a fresh worker. */
  reopenRequests(): ShardCall[];
}

/** Requests waiting for a (re)starting shard, at most. */
const MAX_WAITING = 100_000;

function workerFile(): { filename: string; execArgv: string[] } {
  // From source (vitest, tsx) the worker is TypeScript and needs tsx's loader; once built, it is JS.
  const fromSource = import.meta.url.endsWith('.ts');
  return { filename: new URL(fromSource ? './shard-worker.ts' : './shard-worker.js', import.meta.url).href, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/** One worker thread hosting some partitions, supervised: see the diagram at the top of the file. */
export class Shard {
  readonly index: number;
  readonly #config: ShardConfig;
  readonly #hooks: ShardHooks;
  readonly #policy: RestartPolicy;
  readonly #pool: Piscina;
  readonly #heapLimited: boolean;
  #destroyed: Promise<void> | undefined;
  #port: MessagePort | undefined;
  #ready: Promise<void>;
  #nextId = 0;
  readonly #inFlight = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #waiting = 0;
  #restarts: number[] = [];
  #restartsTotal = 0;
  #failure: FerryError | undefined;
  #closing = false;
  #attach: Promise<unknown> | undefined;
  #unqueue: AbortController | undefined;

  constructor(index: number, config: ShardConfig, hooks: ShardHooks, policy: RestartPolicy, resourceLimits?: { maxOldGenerationSizeMb?: number }) {
    this.index = index;
    this.#config = config;
    this.#hooks = hooks;
    this.#policy = policy;
    this.#heapLimited = resourceLimits?.maxOldGenerationSizeMb !== undefined;
    const { filename, execArgv } = workerFile();
    this.#pool = new Piscina({
      filename,
      execArgv,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      // 'sync' would park the worker's event loop between tasks: timers and fsync callbacks stall.
      atomics: 'disabled',
      stricterFIFO: true,
      concurrentTasksPerWorker: 2,
      recordTiming: false,
      ...(resourceLimits ? { resourceLimits } : {}),
    });
    // piscina emits 'error' for a worker that died with no task on it: idle, or still booting (a
    // heap cap too small to load the engine, say). Unheard, that event would end the host process.
    this.#pool.on('error', (error: unknown) => this.#workerLostWithoutTask(error));
    this.#ready = this.#start();
  }

  /** A worker died before our attach task reached it: piscina spawns no other after a death at
   * boot, so the task would wait in its queue forever. Take it back and count a crash. */
  #workerLostWithoutTask(error: unknown): void {
    const port = this.#port;
    if (!port) return; // between restarts: the next attach brings up a fresh worker
    this.#unqueue?.abort(error);
    this.#stopped(port, error);
  }

  #start(): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    port1.on('message', (message: PortMessage) => this.#onMessage(message));
    this.#unqueue = new AbortController();
    const attach = this.#pool.run({ port: port2, config: this.#config }, { transferList: [port2], signal: this.#unqueue.signal });
    this.#attach = attach;
    attach.then(
      () => this.#stopped(port1, undefined),
      (error: unknown) => this.#stopped(port1, error),
    );
    return Promise.all(this.#hooks.reopenRequests().map((r) => this.#send({ ...r, id: this.#nextId++ } as ShardRequest))).then(() => undefined);
  }

  #onMessage(message: PortMessage): void {
    if (message.kind === 'reply') {
      const waiter = this.#inFlight.get(message.body.id);
      this.#inFlight.delete(message.body.id);
      if (!waiter) return;
      if (message.body.ok) waiter.resolve(message.body.value);
      else waiter.reject(FerryError.fromWire(message.body.error));
    } else if (message.kind === 'upcall') {
      const { id } = message.body;
      const port = this.#port;
      this.#hooks.onUpcall(message.body).then(
        () => port?.postMessage({ kind: 'upcallReply', body: { id, ok: true, value: null } satisfies Reply }),
        (error: unknown) => {
          const wire = error instanceof FerryError ? error.toWire() : { code: 'INTERNAL', message: String(error), retriable: true };
          port?.postMessage({ kind: 'upcallReply', body: { id, ok: false, error: wire } satisfies Reply });
        },
      );
    }
  }

  /** The attach task settled: a clean stop after `close`, otherwise a crash. */
  #stopped(port: MessagePort, error: unknown): void {
    if (port !== this.#port) return;
    port.close();
    this.#port = undefined;
    const crash = new ShardCrashedError(this.index, error ?? new Error('the worker stopped unexpectedly'));
    for (const waiter of this.#inFlight.values()) waiter.reject(crash);
    this.#inFlight.clear();
    if (this.#closing) return;
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => now - t < this.#policy.windowMs);
    if (this.#restarts.length >= this.#policy.maxRestarts) {
      this.#failure = new ShardFailedError(this.index, this.#restarts.length, this.#policy.windowMs, error);
      this.#ready = Promise.reject(this.#failure);
      this.#ready.catch(() => {});
      this.#destroyPool().catch(() => {}); // piscina already spawned a replacement worker; a failed shard needs none
      return;
    }
    this.#restarts.push(now);
    this.#restartsTotal++;
    const delay = this.#policy.backoffMs * 2 ** (this.#restarts.length - 1);
    this.#ready = new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => this.#start());
    this.#ready.catch(() => {});
  }

  #send(body: ShardRequest): Promise<unknown> {
    const port = this.#port;
    if (!port) return Promise.reject(new ShardCrashedError(this.index, new Error('the worker is not running')));
    return new Promise((resolve, reject) => {
      const message: PortMessage = { kind: 'request', body };
      port.postMessage(message, transferables(message)); // throws (nothing in flight) if it cannot be cloned
      this.#inFlight.set(body.id, { resolve, reject });
    });
  }

  /** Sends a request once the shard is up; resolves with the worker's reply value. */
  async request(body: ShardCall): Promise<unknown> {
    if (this.#failure) throw this.#failure;
    if (this.#waiting >= MAX_WAITING) throw new OverloadedError(MAX_WAITING);
    this.#waiting++;
    try {
      await this.#ready;
    } finally {
      this.#waiting--;
    }
    return this.#send({ ...body, id: this.#nextId++ } as ShardRequest);
  }

  /** Restarts so far, and whether the restart budget ran out. */
  get health(): ShardHealth {
    return { restarts: this.#restartsTotal, failed: this.#failure !== undefined };
  }

  /**
   * Kills the worker on purpose (tests and fault drills): `terminate` stops the thread from
   * outside; a {@link FaultDrill} makes it die from inside (`exitCode` is for `exit`). Either is a
   * crash, as far as the shard knows. Resolves once the shard has seen the death and failed the
   * requests in flight; a shard that is not running (failed, or closed) is left as it is.
   */
  async kill(how: ShardDeath = 'terminate', exitCode?: number): Promise<void> {
    if (how !== 'terminate' && !FAULT_DRILLS.includes(how)) throw new InvalidArgumentError(`how must be 'terminate' or one of ${FAULT_DRILLS.join(', ')} (got ${String(how)})`);
    // Without a heap limit the worker would grow to V8's default limit (gigabytes) before dying.
    if (how === 'oom' && !this.#heapLimited) throw new InvalidArgumentError("the 'oom' drill needs a worker heap limit: set maxWorkerHeapMb on the worker runtime");
    await this.#ready.catch(() => {});
    const attach = this.#attach;
    if (!this.#port || !attach) return;
    if (how === 'terminate') void this.#pool.threads[0]?.terminate();
    else this.#send({ op: 'drill', id: this.#nextId++, how, ...(exitCode === undefined ? {} : { exitCode }) }).catch(() => {});
    // #stopped is attached to the attach task first, so it has run when this resumes.
    await attach.catch(() => {});
  }

  /** Asks the worker to sync and close its partitions, waits for it, then stops the pool. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    try {
      await this.#ready;
      await this.#send({ op: 'close', id: this.#nextId++ });
      await this.#attach;
    } catch {
      // a crashed or failed shard has nothing left to sync
    }
    await this.#destroyPool();
  }

  #destroyPool(): Promise<void> {
    return (this.#destroyed ??= this.#pool.destroy());
  }
}
