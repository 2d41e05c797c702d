// The simulator's transactional workload (issue 13): consume-transform-produce transactions
// (`txg` reads `txi`, each attempt publishes its outputs to `txo` and acks its input in one
// transaction; some throw, some are held until their lease may have run out) and half
// transactions (published and maybe acked step by step, then committed, aborted, or left to the
// timeout, a crash and the check-back), all over the faulty network and disk, crashes included.
// At the end every output is read, and each attempt checked: a committed one's outputs are all
// there, an aborted one's none, an undecided one's all or none; each input's outputs are there
// exactly once (one attempt), and no output twice.
import type { Consumer, Delivery } from '../../core/consumer.ts';
import type { Ferry } from '../../core/ferry.ts';
import type { Transaction } from '../../core/transaction.ts';
import { flush } from '../../test-support/memory-ferry.ts';

/** Transactional operations of the workload. */
export type TxOp =
  /** Take a `txi` delivery and run its transaction: commit, throw, or hold it open until a later `txRelease`. */
  | { readonly op: 'txPipeline'; readonly outputs: number; readonly outcome: 'commit' | 'throw' | 'hold' }
  /** Commit the oldest held pipeline transaction (its lease may have run out meanwhile). */
  | { readonly op: 'txRelease' }
  /** A half transaction: publish step by step, maybe ack a `txi` delivery, then commit, abort, or leave it. */
  | { readonly op: 'txHalf'; readonly outputs: number; readonly ack: boolean; readonly decision: 'commit' | 'abort' | 'leave' };

export const TX_INPUTS = 6;
const OUTPUT_PARTITIONS = 3;

interface Attempt {
  readonly id: string;
  readonly input: number | undefined;
  readonly outputs: number;
  readonly half: boolean;
  /** What the engine told us; 'open' while nothing did (or the process died before). */
  status: 'open' | 'committed' | 'aborted';
  /** A crash came while it was open: its outcome is the recovery's. */
  crashed: boolean;
  /** The check-back's answer, if it was asked. */
  answer?: 'commit' | 'abort';
  /** Outputs of a half transaction known prepared (their publish resolved). */
  prepared: number;
  tx?: Transaction;
}

/** Errors of a commit that prove nothing took effect (the others may hide a durable decision). */
const SURELY_ABORTED = new Set(['STALE_DELIVERY', 'TRANSACTION_ABORTED', 'TRANSACTION_FENCED', 'TRANSACTION_FINISHED', 'TRANSACTION_TOO_LARGE', 'INVALID_ARGUMENT', 'INVALID_MESSAGE', 'UNKNOWN_GROUP']);

/** The transactional part of a simulation run. */
export class TxWorkload {
  readonly #violate: (check: string, detail: string) => void;
  readonly #event: (line: string) => void;
  readonly #attempts: Attempt[] = [];
  readonly #held: { attempt: Attempt; release: () => void }[] = [];
  #consumer: Consumer<number> | undefined;
  #waiting: Promise<Delivery<number> | undefined> | undefined;
  #seeded = false;
  /** The inputs are confirmed (stored): each must end processed exactly once (else at most once). */
  #inputsConfirmed = false;
  #next = 0;
  /** Opens so far: a run() of an earlier (crashed) process knows it is dead. */
  #lives = 0;
  /** The process whose exactlyOnce run() is started. */
  #running = -1;
  readonly counts = { txCommitted: 0, txAborted: 0, txAsked: 0, txRunCommitted: 0 };

  constructor(violate: (check: string, detail: string) => void, event: (line: string) => void) {
    this.#violate = violate;
    this.#event = event;
  }

  /**
   * The check-back the engine is opened with, answering as an application would from its own
   * records: a transaction the engine reported failed was not committed locally ('abort'; the
   * engine may report a half transaction's failure before its abort record is durable, and then
   * asks after a crash: fresh seed 197477595, whose check-back answered 'commit' for one whose ack
   * had failed with STALE_DELIVERY); one it reported committed, 'commit'; one it never reported
   * on, a fixed answer per id. Remembered for the check.
   */
  readonly resolveInDoubt = (id: string): 'commit' | 'abort' => {
    const attempt = this.#attempts.find((a) => a.id === id);
    const known = attempt?.status === 'aborted' ? 'abort' : attempt?.status === 'committed' ? 'commit' : undefined;
    const answer = known ?? (Number(id.slice(1)) % 2 === 0 ? 'commit' : 'abort');
    // Its commit resolved once its decision was durable: nothing about it can be in doubt.
    if (known === 'commit') this.#violate('a committed transaction is not in doubt', `${id} committed, and the check-back was asked about it after a restart`);
    if (attempt) attempt.answer = answer;
    this.counts.txAsked++;
    this.#event(`check-back ${id}: ${answer}`);
    return answer;
  };

  /** After each open: the topics, the inputs (once, awaited with `drive`), the consumer. */
  async opened(ferry: Ferry, drive: <T>(p: Promise<T>) => Promise<T>): Promise<void> {
    await drive(ferry.createTopic('txi', { partitions: 2, maxDeliveries: 1000, ackTimeoutMs: 1000, backoff: { kind: 'fixed', delayMs: 50 } }));
    await drive(ferry.createTopic('txo', { partitions: OUTPUT_PARTITIONS }));
    if (!this.#seeded) {
      // Not awaited: over a faulty network the producer's retries wait on timers the run drives.
      this.#seeded = true;
      ferry.producer().publishMany('txi', Array.from({ length: TX_INPUTS }, (_, i) => ({ value: i }))).then(
        () => (this.#inputsConfirmed = true),
        () => this.#event('tx inputs not confirmed'),
      );
    }
    this.#consumer = ferry.consumer<number>('txg', { topics: ['txi'], maxInFlight: 4, pollWaitMs: 200 });
    this.#waiting = undefined;
  }

  /**
   * An `exactlyOnce` run() in the same group as the step-by-step pipeline: its handlers ready
   * together commit merged, each with its own outcome; every fourth attempt throws (nothing of it
   * may show). A run of a process that crashed does nothing more (its attempts are not counted).
   * Started by the first pipeline step of each process, not at open: recovery's determinism check
   * opens the engine and compares states, with no work of its own running meanwhile.
   */
  #runExactlyOnce(ferry: Ferry): void {
    if (this.#running === this.#lives) return;
    const life = (this.#running = this.#lives);
    const runner = ferry.consumer<number>('txg', { topics: ['txi'], maxInFlight: 4, pollWaitMs: 200 });
    const handler = (d: Delivery<number>, tx: Transaction): void => {
      if (life !== this.#lives) throw new Error('the process died');
      const attempt = this.#attempt(d.value, 2, false);
      attempt.tx = tx;
      const fails = Number(attempt.id.slice(1)) % 4 === 0;
      this.#event(`tx ${attempt.id} input ${d.value} a${d.attempt} run${fails ? ' throw' : ''}`);
      void this.#outputs(tx, attempt);
      if (fails) throw new Error('handler failed');
    };
    runner.run(handler, { exactlyOnce: true, concurrency: 4 }).catch(() => {});
  }

  /** The process died: what was open is the recovery's to decide. */
  crashed(): void {
    this.#lives++;
    for (const a of this.#attempts) {
      // A run() handler's transaction reports its outcome only through its state: one decided
      // before the crash is decided (a committed one's decision was durable), not in doubt.
      if (a.status === 'open' && !a.half && (a.tx?.state === 'committed' || a.tx?.state === 'aborted')) a.status = a.tx.state;
      if (a.status === 'open') a.crashed = true;
    }
    this.#held.length = 0;
    this.#consumer = undefined;
  }

  async #poll(): Promise<Delivery<number> | undefined> {
    if (!this.#consumer) return undefined;
    let got: Delivery<number> | undefined;
    this.#waiting ??= this.#consumer.next();
    void this.#waiting.then((d) => (got = d), () => (this.#waiting = undefined));
    await flush(3);
    if (got) this.#waiting = undefined;
    return got;
  }

  #attempt(input: number | undefined, outputs: number, half: boolean): Attempt {
    const attempt: Attempt = { id: `${half ? 'h' : 'x'}${this.#next++}`, input, outputs, half, status: 'open', crashed: false, prepared: 0 };
    this.#attempts.push(attempt);
    return attempt;
  }

  #outputs(tx: Transaction, attempt: Attempt): Promise<void>[] {
    return Array.from({ length: attempt.outputs }, (_, k) => tx.publish('txo', { value: `${attempt.id}#${k}`, key: `k${k}` }));
  }

  #finished(attempt: Attempt, outcome: Promise<unknown>): void {
    // An outcome that settles after a crash settles in the dead process: no application saw it
    // (fresh seed 425756620: an abort() whose record could not be written any more resolved after
    // the power loss, and counted the transaction aborted though the check-back then committed it).
    const seen = (): boolean => !attempt.crashed;
    outcome.then(
      () => {
        if (!seen()) return;
        attempt.status = 'committed';
        this.counts.txCommitted++;
        this.#event(`tx ${attempt.id} committed`);
      },
      (e: unknown) => {
        if (!seen()) return;
        const code = (e as { code?: string }).code;
        if (code === undefined || SURELY_ABORTED.has(code)) {
          attempt.status = 'aborted';
          this.counts.txAborted++;
        }
        this.#event(`tx ${attempt.id} failed ${code ?? (e as Error).message}`);
      },
    );
  }

  async apply(op: TxOp, ferry: Ferry): Promise<void> {
    switch (op.op) {
      case 'txPipeline': {
        this.#runExactlyOnce(ferry);
        const d = await this.#poll();
        if (!d) return;
        const attempt = this.#attempt(d.value, op.outputs, false);
        this.#event(`tx ${attempt.id} input ${d.value} a${d.attempt} ${op.outcome}`);
        let release!: () => void;
        const gate = op.outcome === 'hold' ? new Promise<void>((r) => (release = r)) : undefined;
        if (gate) this.#held.push({ attempt, release });
        this.#finished(
          attempt,
          ferry.transaction(async (tx) => {
            void this.#outputs(tx, attempt);
            void tx.ack(d);
            await gate;
            if (op.outcome === 'throw') throw new Error('handler failed');
          }),
        );
        return;
      }
      case 'txRelease':
        this.#held.shift()?.release();
        return;
      case 'txHalf': {
        const d = op.ack ? await this.#poll() : undefined;
        const attempt = this.#attempt(d?.value, op.outputs, true);
        this.#event(`tx ${attempt.id} half${d ? ` input ${d.value}` : ''} ${op.decision}`);
        this.#finished(
          attempt,
          (async () => {
            const tx = (attempt.tx = await ferry.beginTransaction({ id: attempt.id }));
            // Step by step, each prepared before the next (as a user awaits them before the local commit).
            for (const published of this.#outputs(tx, attempt)) {
              await published;
              attempt.prepared++;
            }
            if (d) await tx.ack(d);
            if (op.decision === 'leave') return new Promise<never>(() => {}); // decided by the timeout, or a crash and the check-back
            return op.decision === 'commit' ? tx.commit() : tx.abort().then(() => Promise.reject(Object.assign(new Error('aborted'), { code: 'TRANSACTION_ABORTED' })));
          })(),
        );
        return;
      }
    }
  }

  /** Faults off: runs the inputs still unprocessed through committing transactions until quiet. */
  async drain(ferry: Ferry, tick: () => Promise<void>): Promise<void> {
    for (const h of this.#held.splice(0)) h.release();
    // Quiet for 12 rounds of 500 ms: past the simulator's transactionTimeoutMs, so abandoned half
    // transactions are aborted and their inputs come back meanwhile.
    for (let quiet = 0, round = 0; quiet < 12 && round < 400; round++) {
      const d = await this.#poll();
      if (d) {
        quiet = 0;
        const attempt = this.#attempt(d.value, 2, false);
        this.#event(`tx ${attempt.id} input ${d.value} a${d.attempt} commit (drain)`);
        this.#finished(
          attempt,
          ferry.transaction((tx) => {
            void this.#outputs(tx, attempt);
            void tx.ack(d);
          }),
        );
      } else quiet++;
      await tick();
    }
  }

  /** Reads every output with a fresh group and checks each attempt and input. */
  async check(ferry: Ferry, tick: () => Promise<void>): Promise<void> {
    const audit = ferry.consumer<string>('txaudit', { topics: ['txo'], maxInFlight: 64, pollWaitMs: 200 });
    const seen = new Map<string, number>();
    let waiting: Promise<Delivery<string> | undefined> | undefined;
    for (let quiet = 0, round = 0; quiet < 10 && round < 1000; round++) {
      let got: Delivery<string> | undefined;
      waiting ??= audit.next();
      void waiting.then((d) => (got = d), () => {});
      await flush(3);
      if (got) {
        waiting = undefined;
        quiet = 0;
        seen.set(got.value, (seen.get(got.value) ?? 0) + 1);
        void got.ack();
      } else {
        quiet++;
        await tick();
      }
    }
    for (const [value, n] of seen) if (n > 1) this.#violate('transaction outputs once', `output ${value} was stored ${n} times`);
    const present = new Map<string, number>();
    for (const value of seen.keys()) {
      const id = value.slice(0, value.indexOf('#'));
      present.set(id, (present.get(id) ?? 0) + 1);
    }
    const byInput = new Map<number, string[]>();
    // A half transaction that a crash cut short may have prepared its outputs but not its ack (or
    // its ack without the reply): its input may be processed again, legitimately. Not checked.
    const uncertain = new Set(this.#attempts.filter((a) => a.half && a.crashed && a.input !== undefined).map((a) => a.input!));
    for (const a of this.#attempts) {
      const n = present.get(a.id) ?? 0;
      const aborted = a.status === 'aborted' || (a.crashed && a.answer === 'abort') || (!a.crashed && a.tx?.state === 'aborted');
      const committed = a.status === 'committed' || (a.crashed && a.answer === 'commit') || (!a.crashed && a.tx?.state === 'committed');
      if (!a.half && a.tx?.state === 'committed') this.counts.txRunCommitted++;
      if (aborted && n > 0) this.#violate('an aborted transaction takes no effect', `${a.id} (${a.status}${a.crashed ? ', crashed' : ''}${a.answer ? `, check-back ${a.answer}` : ''}) has ${n} of its ${a.outputs} outputs stored`);
      else if (committed && !a.crashed && n !== a.outputs) this.#violate('a committed transaction takes all its effect', `${a.id} committed but ${n} of its ${a.outputs} outputs are stored`);
      else if (committed && a.crashed && n < a.prepared) this.#violate('an in-doubt transaction takes the check-back\'s answer', `${a.id}: the check-back answered commit, but ${n} of its ${a.prepared} prepared outputs are stored`);
      else if (!a.half && n !== 0 && n !== a.outputs) this.#violate('a transaction is atomic', `${a.id} (${a.status}) has ${n} of its ${a.outputs} outputs stored`);
      if (a.input !== undefined && n > 0) byInput.set(a.input, [...(byInput.get(a.input) ?? []), a.id]);
    }
    for (let input = 0; input < TX_INPUTS; input++) {
      const attempts = byInput.get(input) ?? [];
      if ((attempts.length > 1 || (attempts.length === 0 && this.#inputsConfirmed)) && !uncertain.has(input)) this.#violate('each input is processed exactly once', `input ${input} has the outputs of ${attempts.length} transactions (${attempts.join(', ')}): its ack and its outputs did not commit as one`);
    }
  }
}
