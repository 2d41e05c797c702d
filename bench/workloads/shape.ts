// The knobs the workloads W1-W4 share (issue 11), the same for Ferry and every peer in one run.

/** One workload's size and shape. */
export interface WorkloadShape {
  /** Timed messages. */
  readonly n: number;
  /** Untimed messages first (JIT, caches, connections warm up; figures never include them). */
  readonly warmup: number;
  readonly payloadBytes: number;
  /** W1: unconfirmed messages at most. */
  readonly window: number;
  /** W1 publishMany / backlogs: messages per batch call. */
  readonly batch: number;
  /** W2, W4: unsettled deliveries at most. */
  readonly prefetch: number;
}

/** The defaults of issue 11's table (N shrinks with the profile). */
export const ISSUE_11_SHAPE: Omit<WorkloadShape, 'n' | 'warmup'> = { payloadBytes: 100, window: 1000, batch: 100, prefetch: 1000 };
