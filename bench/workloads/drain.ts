// Drains a backlog through a target's consumer, each delivery settled by the workload's rule, and
// times it from the `warmup`-th ack to the last: shared by W2 (ack all) and W4 (fail some once).
import { hrtime } from 'node:process';
import type { Target, TargetDelivery } from '../adapters/target.ts';
import { seqOf } from './payload.ts';
import { DeliveryTracker } from './tracker.ts';

/** How long a drain may take before the cell gives up (a stuck system fails its check). */
const DRAIN_TIMEOUT_MS = 120_000;
/** After the last ack, how long to watch for stray redeliveries before checking the system is empty. */
export const QUIET_MS = 200;

/** How long a system that acks without a confirm (NATS, RabbitMQ) may take to count the last acks. */
const SETTLE_WAIT_MS = 2000;

/**
 * Messages the system still counts as unsettled once everything was acked. Where an ack has no
 * confirm, the count may lag the last acks: asked again until it is 0 or SETTLE_WAIT_MS passed.
 */
export async function unsettledAfterDrain(target: Target): Promise<number | undefined> {
  const until = Date.now() + SETTLE_WAIT_MS;
  for (;;) {
    const n = await target.unsettled();
    if (n === undefined || n === 0 || Date.now() >= until) return n;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface DrainResult {
  readonly tracker: DeliveryTracker;
  /** Seconds from the `warmup`-th confirmed ack to the last. */
  readonly seconds: number;
  readonly unsettled: number | undefined;
  readonly timedOut: boolean;
}

/** The workload's decision for one delivery: 'ack', or 'nack' (redelivery asked for). */
export type Settle = (seq: number, attempt: number, delivery: TargetDelivery) => 'ack' | 'nack';

export async function drain(target: Target, total: number, warmup: number, prefetch: number, settle: Settle): Promise<DrainResult> {
  const tracker = new DeliveryTracker(total);
  let started = 0n;
  let finished = 0n;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const onAcked = (seq: number, answer: boolean | void): void => {
    if (answer !== false && tracker.ackedCount === warmup) started = hrtime.bigint();
    if (tracker.onAckAnswer(seq, answer)) {
      finished = hrtime.bigint();
      done();
    }
  };
  const onError = (error: unknown): void => tracker.onAckError(error);
  if (warmup === 0) started = hrtime.bigint();
  const subscription = await target.consume(prefetch, (d) => {
    const seq = seqOf(d.value);
    const attempt = tracker.onDelivery(seq);
    if (attempt === 0) return void d.ack().catch(onError);
    if (settle(seq, attempt, d) === 'nack') d.nack().catch(onError);
    else d.ack().then((answer) => onAcked(seq, answer), onError);
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), DRAIN_TIMEOUT_MS)))]);
  clearTimeout(timer);
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
  await subscription.stop();
  const unsettled = await unsettledAfterDrain(target);
  return { tracker, seconds: timedOut ? Number.NaN : Number(finished - started) / 1e9, unsettled, timedOut };
}
