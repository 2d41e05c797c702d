// What the parts of a partition actor (publisher, deliveries, settlement, journal, outbox) share:
// its context, its name for messages, its groups, and the check that it is still open.
import { UnknownGroupError } from './errors.ts';
import type { GroupState } from './group-state.ts';
import type { PartitionContext } from './partition-api.ts';
import type { PartitionMetrics } from './partition-metrics.ts';

/** The partition's shared state, owned by the actor and lent to its parts. */
export interface PartitionScope {
  readonly c: PartitionContext;
  /** `topic[partition]`, for messages. */
  readonly where: string;
  readonly groups: Map<string, GroupState>;
  /** Throws ClosedError, or the log's failure, once the partition cannot serve. */
  readonly checkOpen: () => void;
  /** Counters, histograms and alert events (core/partition-metrics.ts). */
  readonly metrics: PartitionMetrics;
}

/** The named group, or UNKNOWN_GROUP. */
export function groupOf(scope: PartitionScope, name: string): GroupState {
  const g = scope.groups.get(name);
  if (!g) throw new UnknownGroupError(name, scope.where);
  return g;
}
