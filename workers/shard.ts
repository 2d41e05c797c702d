// One shard on the main thread: a single-worker piscina pool used as a supervisor, a MessagePort
// as the data path, the requests in flight, and the restart policy. When the worker dies, every
// request in flight fails at once with a retriable SHARD_CRASHED; the shard restarts on a fresh
// worker, which recovers its partitions from their logs; a crash loop ends in SHARD_FAILED.
//
//   request ─► await ready ─► port.postMessage ─► worker ─► reply ─► resolve / reject(typed)
//   attach task settles ─► crash: reject in-flight, back off, attach again, reopen partitions
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FerryError, InvalidArgumentError, OverloadedError, registerErrorCode, showValue } from '../wal/index.ts';
import { RequestTimeoutError } from '../core/index.ts';
import { unpackReplyValue } from './wire-columns.ts';
import { FAULT_DRILLS, postBatch, requestBytes, type DeadLetterUpcall, type FaultDrill, type PortMessage, type Reply, type ShardCall, type ShardConfig, type ShardRequest } from './protocol.ts';

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

/** Requests waiting for a (re)starting shard, at most, and the bytes they may hold. */
const MAX_WAITING = 100_000;
const MAX_WAITING_BYTES = 256 * 1024 * 1024;

/** How a shard watches its worker: a ping every `intervalMs`; no answer for `hungAfterMs` means hung. */
export interface HeartbeatPolicy {
  readonly intervalMs: number;
  readonly hungAfterMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatPolicy = { intervalMs: 1000, hungAfterMs: 10_000 };

interface InFlight {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** performance.now() past which the request fails with REQUEST_TIMEOUT. */
  readonly deadline: number;
  readonly what: string;
  readonly timeoutMs: number;
}

function workerFile(): { filename: string; execArgv: string[] } {
  // From source (vitest, tsx) the worker is TypeScript and needs tsx's loader; once built, it is JS.
  // tsx is resolved from this package, not from the process's working directory (a program
  // started elsewhere would not find it, and every worker would die at boot).
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(fromSource ? './shard-worker.ts' : './shard-worker.js', import.meta.url).href;
  return { filename, execArgv: fromSource ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [] };
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
  readonly #inFlight = new Map<number, InFlight>();
  #waiting = 0;
  #waitingBytes = 0;
  /** Requests of this turn, posted together (in order) at its end. */
  #outbox: ShardRequest[] = [];
  readonly #heartbeat: HeartbeatPolicy;
  readonly #watchdog: ReturnType<typeof setInterval>;
  /** performance.now() of the last answered ping (or of the last start). */
  #lastPong = performance.now();
  #pingOut = false;
  #restarts: number[] = [];
  #restartsTotal = 0;
  #failure: FerryError | undefined;
  #closing = false;
  #attach: Promise<unknown> | undefined;
  #unqueue: AbortController | undefined;

  constructor(index: number, config: ShardConfig, hooks: ShardHooks, policy: RestartPolicy, resourceLimits?: { maxOldGenerationSizeMb?: number }, heartbeat: HeartbeatPolicy = DEFAULT_HEARTBEAT) {
    this.index = index;
    this.#heartbeat = heartbeat;
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
    this.#watchdog = setInterval(() => this.#watch(), Math.min(heartbeat.intervalMs, 250));
    this.#watchdog.unref();
  }

  /**
   * Fails requests past their deadline, pings the worker, and declares it hung (terminating it,
   * so it restarts from its log) when a ping goes unanswered for `hungAfterMs`.
   */
  #watch(): void {
    const now = performance.now();
    for (const [id, r] of this.#inFlight) {
      if (r.deadline > now) continue;
      this.#inFlight.delete(id);
      r.reject(new RequestTimeoutError(r.what, r.timeoutMs));
    }
    // Only a worker that is up is watched: booting (loading the engine, recovering its logs) may take longer.
    if (!this.#port || this.#closing || !this.#up) return;
    if (this.#pingOut && now - this.#lastPong > this.#heartbeat.hungAfterMs) {
      this.#pingOut = false;
      this.#hung = true;
      void this.#pool.threads[0]?.terminate();
      return;
    }
    if (!this.#pingOut && now - this.#lastPong >= this.#heartbeat.intervalMs) {
      this.#pingOut = true;
      const port = this.#port;
      this.#send({ op: 'ping', id: this.#nextId++ }, 'ping', Number.POSITIVE_INFINITY).then(
        () => {
          if (port === this.#port) this.#lastPong = performance.now();
          this.#pingOut = false;
        },
        () => (this.#pingOut = false),
      );
    }
  }

  /** Set when the watchdog terminated a hung worker, so its death is reported as a hang. */
  #hung = false;
  /** The worker has booted and reopened its partitions: from then on its heartbeat is watched. */
  #up = false;

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
    this.#lastPong = performance.now();
    this.#pingOut = false;
    port1.on('message', (message: PortMessage) => this.#onMessage(message));
    this.#unqueue = new AbortController();
    const attach = this.#pool.run({ port: port2, config: this.#config }, { transferList: [port2], signal: this.#unqueue.signal });
    this.#attach = attach;
    attach.then(
      () => this.#stopped(port1, undefined),
      (error: unknown) => this.#stopped(port1, error),
    );
    this.#up = false;
    return Promise.all(this.#hooks.reopenRequests().map((r) => this.#send({ ...r, id: this.#nextId++ } as ShardRequest, `reopen ${r.op}`, 120_000))).then(() => {
      if (this.#port !== port1) return;
      this.#up = true;
      this.#lastPong = performance.now();
    });
  }

  #onMessage(message: PortMessage): void {
    if (message.kind === 'replies') {
      for (const body of message.bodies) {
        const waiter = this.#inFlight.get(body.id);
        this.#inFlight.delete(body.id);
        if (!waiter) continue; // timed out meanwhile
        if (body.ok) waiter.resolve(unpackReplyValue(body.value));
        else waiter.reject(FerryError.fromWire(body.error));
      }
    } else if (message.kind === 'upcall') {
      const { id } = message.body;
      const port = this.#port;
      this.#hooks.onUpcall(message.body).then(
        () => port?.postMessage({ kind: 'upcallReply', body: { id, ok: true, value: null } satisfies Reply }),
        (error: unknown) => {
          const wire = error instanceof FerryError ? error.toWire() : { code: 'INTERNAL', message: `dead-letter routing failed: ${String(error)}`, retriable: false };
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
    this.#up = false;
    const why = this.#hung ? new Error(`the worker stopped answering its heartbeat for ${this.#heartbeat.hungAfterMs} ms (hung) and was terminated`) : error;
    this.#hung = false;
    this.#outbox = [];
    const crash = new ShardCrashedError(this.index, why ?? new Error('the worker stopped unexpectedly'));
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

  /** Queues a request for the end of this turn (requests of a turn cross the port together, in order). */
  #send(body: ShardRequest, what: string, timeoutMs: number): Promise<unknown> {
    if (!this.#port) return Promise.reject(new ShardCrashedError(this.index, new Error('the worker is not running')));
    return new Promise((resolve, reject) => {
      if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
      this.#outbox.push(body);
      this.#inFlight.set(body.id, { resolve, reject, deadline: performance.now() + timeoutMs, what, timeoutMs });
    });
  }

  #flush(): void {
    const bodies = this.#outbox;
    this.#outbox = [];
    const port = this.#port;
    if (bodies.length === 0 || !port) return;
    // A request that cannot be cloned fails alone, with the reason.
    postBatch(port, 'requests', bodies, (body, error) => {
      const waiter = this.#inFlight.get(body.id);
      this.#inFlight.delete(body.id);
      waiter?.reject(new InvalidArgumentError(`a request to shard ${this.index} could not be sent to its worker: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    });
  }

  /**
   * Sends a request once the shard is up; resolves with the worker's reply value, or fails with a
   * retriable REQUEST_TIMEOUT after `timeoutMs` (counted from now, waiting for a restart included).
   */
  async request(body: ShardCall, what: string, timeoutMs: number): Promise<unknown> {
    if (this.#failure) throw this.#failure;
    const bytes = requestBytes(body);
    if (this.#waiting >= MAX_WAITING || this.#waitingBytes + bytes > MAX_WAITING_BYTES) {
      throw new OverloadedError(MAX_WAITING, `shard ${this.index} is restarting and already holds ${this.#waiting} requests (${this.#waitingBytes} bytes) for it`);
    }
    const started = performance.now();
    this.#waiting++;
    this.#waitingBytes += bytes;
    try {
      await this.#ready;
    } finally {
      this.#waiting--;
      this.#waitingBytes -= bytes;
    }
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0) throw new RequestTimeoutError(what, timeoutMs);
    return this.#send({ ...body, id: this.#nextId++ } as ShardRequest, what, left);
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
    if (how !== 'terminate' && !FAULT_DRILLS.includes(how)) throw new InvalidArgumentError(`how must be 'terminate' or one of ${FAULT_DRILLS.join(', ')} (got ${showValue(how)})`);
    // Without a heap limit the worker would grow to V8's default limit (gigabytes) before dying.
    if (how === 'oom' && !this.#heapLimited) throw new InvalidArgumentError("the 'oom' drill needs a worker heap limit: set maxWorkerHeapMb on the worker runtime");
    await this.#ready.catch(() => {});
    const attach = this.#attach;
    if (!this.#port || !attach) return;
    if (how === 'terminate') void this.#pool.threads[0]?.terminate();
    else this.#send({ op: 'drill', id: this.#nextId++, how, ...(exitCode === undefined ? {} : { exitCode }) }, 'drill', Number.POSITIVE_INFINITY).catch(() => {});
    // #stopped is attached to the attach task first, so it has run when this resumes.
    await attach.catch(() => {});
  }

  /**
   * Asks the worker to sync and close its partitions and waits for it, at most `timeoutMs`; a
   * worker that does not finish in time (hung, a stuck disk) is terminated. Then stops the pool.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#watchdog);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    try {
      await Promise.race([
        (async () => {
          await this.#ready;
          await this.#send({ op: 'close', id: this.#nextId++ }, 'close', timeoutMs);
          await this.#attach;
        })().catch(() => {}), // a crashed or failed shard has nothing left to sync
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
    for (const waiter of this.#inFlight.values()) waiter.reject(new ShardCrashedError(this.index, new Error('the engine closed with this request in flight')));
    this.#inFlight.clear();
    await Promise.race([this.#destroyPool().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  }

  #destroyPool(): Promise<void> {
    return (this.#destroyed ??= this.#pool.destroy());
  }
}
