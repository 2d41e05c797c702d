// The one interface every system under test is driven through (Ferry and each peer), so that the
// workloads W1-W4 (bench/workloads/) are written once and run the same on all of them: same
// message count, payload, window and prefetch. Runs in a benchmark cell's child process.

/** One received message, to settle exactly once. */
export interface TargetDelivery {
  /** The payload as published (the workloads keep a sequence number and a time stamp in it). */
  readonly value: Uint8Array;
  /**
   * Acknowledges; resolves when the system confirms the ack (or at once where it has no confirm),
   * with `false` when the system says the message was already acknowledged (this copy was a
   * redelivery of a message another copy settled: at-least-once, not an error).
   */
  ack(): Promise<boolean | void>;
  /** Fails this attempt and asks for redelivery with no delay (or the system's nearest equivalent). */
  nack(): Promise<void>;
}

/** A running subscription; `stop()` ends it (unsettled deliveries go back to the system). */
export interface Subscription {
  stop(): Promise<void>;
}

/** A system under test, on one fresh queue/topic/stream, opened by its factory. */
export interface Target {
  /** What a publish confirm means here (fsync per message, group commit, interval fsync, page cache). */
  readonly confirmMeans: string;
  /** Publishes one message; resolves on the system's confirm. */
  publish(value: Uint8Array): Promise<void>;
  /** Publishes several messages in the system's batch form; resolves when all are confirmed. */
  publishMany(values: readonly Uint8Array[]): Promise<void>;
  /**
   * Starts consuming with at most `prefetch` unsettled deliveries; `onDelivery` is called for each,
   * on the cell's main thread, and must settle it (now or later).
   */
  consume(prefetch: number, onDelivery: (d: TargetDelivery) => void): Promise<Subscription>;
  /** Messages the system holds for the queue, or undefined where it has no such count. */
  stored(): Promise<number | undefined>;
  /** Messages not yet acknowledged (pending or unsettled) after a drain, or undefined if unknown. */
  unsettled(): Promise<number | undefined>;
  /** Releases clients and deletes what the target created. */
  close(): Promise<void>;
}

/** Opens a target on a fresh queue; `params` are the cell's (system-specific options, ports). */
export type TargetFactory = (params: TargetParams) => Promise<Target>;

/** What a cell tells its target: the workload's shape and where the system listens. */
export interface TargetParams {
  readonly target: string;
  /** Ferry: worker threads (0, N or 'auto'); fsync policy; partitions. */
  readonly threads?: number | 'auto';
  readonly fsync?: 'always' | 'interval' | 'none';
  readonly partitions?: number;
  /** Ferry: `Ferry.open({ metrics })` (default true; the metrics-cost scenario measures false beside it). */
  readonly metrics?: boolean;
  /** Peers: the port of the private server started by bench/peers/servers.ts. */
  readonly port?: number;
  /** Redis: `always` or `everysec` (reported in confirmMeans; the server is started with it). */
  readonly appendfsync?: string;
  /** A fresh directory for embedded targets' data. */
  readonly dir: string;
}
