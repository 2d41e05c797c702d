// Correctness bookkeeping shared by the consuming workloads: which sequence numbers were
// delivered and acknowledged, how often, and whether the drain left anything behind.
import type { Check } from '../lib/cell-output.ts';

/** Per-message counts for `total` messages numbered 0..total-1. */
export class DeliveryTracker {
  readonly delivered: Uint16Array;
  readonly acked: Uint8Array;
  deliveries = 0;
  ackedCount = 0;
  ackErrors = 0;
  /** Acks the system answered with "already acknowledged" (a redelivered copy of a settled message). */
  staleAcks = 0;
  unknown = 0;
  firstError: unknown;

  constructor(readonly total: number) {
    this.delivered = new Uint16Array(total);
    this.acked = new Uint8Array(total);
  }

  /** Counts a delivery; returns the attempt number (1 on the first), 0 for a sequence out of range. */
  onDelivery(seq: number): number {
    this.deliveries++;
    if (seq >= this.total) {
      this.unknown++;
      return 0;
    }
    if (this.delivered[seq]! < 0xffff) this.delivered[seq]!++;
    return this.delivered[seq]!;
  }

  /**
   * Counts the answer to an ack: `false` (already acknowledged through another copy) is counted
   * apart; anything else is a confirmed ack. Returns whether every message is now acked.
   */
  onAckAnswer(seq: number, answer: boolean | void): boolean {
    if (answer === false) {
      this.staleAcks++;
      return false;
    }
    return this.onAcked(seq);
  }

  /** Counts a confirmed ack; returns whether every message is now acked. */
  onAcked(seq: number): boolean {
    if (this.acked[seq]! < 255) this.acked[seq]!++;
    return ++this.ackedCount >= this.total;
  }

  onAckError(error: unknown): void {
    this.ackErrors++;
    this.firstError ??= error;
  }

  missing(): number {
    let missing = 0;
    for (let i = 0; i < this.total; i++) if (this.acked[i] === 0) missing++;
    return missing;
  }

  /** Every message acked exactly once, none unknown, nothing left unsettled (where the system says). */
  check(unsettled: number | undefined, expectedRedeliveries?: number): Check {
    let twice = 0;
    for (let i = 0; i < this.total; i++) if (this.acked[i]! > 1) twice++;
    const missing = this.missing();
    const problems: string[] = [];
    if (missing > 0) problems.push(`${missing} of ${this.total} never acked`);
    if (twice > 0) problems.push(`${twice} acked more than once`);
    if (this.unknown > 0) problems.push(`${this.unknown} deliveries of unknown messages`);
    if (unsettled !== undefined && unsettled > 0) problems.push(`${unsettled} left unsettled after the drain`);
    if (this.ackErrors > 0) problems.push(`${this.ackErrors} settles failed (first: ${String(this.firstError)})`);
    const redelivered = this.deliveries - this.total;
    if (expectedRedeliveries !== undefined && redelivered < expectedRedeliveries) problems.push(`${redelivered} redeliveries, expected at least ${expectedRedeliveries}`);
    const stale = this.staleAcks ? `; ${this.staleAcks} acks of redelivered copies answered "already acknowledged"` : '';
    const detail = `${this.total} delivered and acked once; ${redelivered} redeliveries${stale}${unsettled === undefined ? '' : `; ${unsettled} unsettled after the drain`}`;
    return problems.length === 0 ? { ok: true, detail } : { ok: false, detail: problems.join('; ') };
  }
}
