// Checks of a user's invariants over a simulation's history (history.ts): each throws an
// INVARIANT_VIOLATED error listing what broke it, so inside `simulate` the failure comes back with
// the seed and the replay call. Call them after `sim.settle()`. Pure functions.
import { InvalidArgumentError, showValue } from '../../wal/index.ts';
import { refuseUnknownOptions } from '../../core/option-names.ts';
import { InvariantViolatedError } from './errors.ts';
import { messageId, type SimulationHistory } from './history.ts';

/** Which group's view to check, and optionally only some of its topics (default: all it joined). */
export interface GroupCheck {
  readonly group: string;
  readonly topics?: readonly string[];
}

function topicsOf(history: SimulationHistory, check: GroupCheck): ReadonlySet<string> {
  if (typeof check?.group !== 'string') throw new InvalidArgumentError(`the check needs { group, topics? } (got ${showValue(check)})`);
  refuseUnknownOptions('the check', check, ['group', 'topics']);
  if (check.topics) return new Set(check.topics);
  const joined = history.groups.get(check.group);
  if (!joined) throw new InvalidArgumentError(`group ${JSON.stringify(check.group)} never joined a topic in this run (known: ${[...history.groups.keys()].join(', ') || 'none'})`);
  return joined;
}

function fail(invariant: string, violations: readonly string[]): void {
  if (violations.length > 0) throw new InvariantViolatedError(invariant, violations);
}

/**
 * Every confirmed message of the group's topics was handled at least once: a live handler of
 * `group` acked it, or it was dead-lettered for the group.
 */
export function expectHandledAtLeastOnce(history: SimulationHistory, check: GroupCheck): void {
  const topics = topicsOf(history, check);
  const done = new Set<string>();
  for (const a of history.acks) if (a.group === check.group) done.add(messageId(a.topic, a.partition, a.offset));
  for (const d of history.deadLetters) if (d.group === check.group) done.add(messageId(d.topic, d.partition, d.offset));
  const missed = history.published.filter((m) => topics.has(m.topic) && !done.has(messageId(m.topic, m.partition, m.offset)));
  fail(
    `every message handled at least once by ${check.group}`,
    missed.map((m) => `${messageId(m.topic, m.partition, m.offset)}${m.key === undefined ? '' : ` (key ${m.key})`}, confirmed at ${m.atMs} ms, was never acked nor dead-lettered`),
  );
}

/**
 * The effect `effect` (recorded with `sim.effect` or `tx.effect`) happened at most once per key,
 * and, with `keys`, exactly once for each of them.
 */
export function expectEffectsExactlyOnce(history: SimulationHistory, check: { readonly effect: string; readonly keys?: Iterable<string> }): void {
  if (typeof check?.effect !== 'string') throw new InvalidArgumentError(`expectEffectsExactlyOnce needs { effect, keys? } (got ${showValue(check)})`);
  refuseUnknownOptions('expectEffectsExactlyOnce check', check, ['effect', 'keys']);
  const seen = new Map<string, { atMs: number; incarnation: number }[]>();
  for (const e of history.effects) {
    if (e.name !== check.effect) continue;
    let list = seen.get(e.key);
    if (!list) seen.set(e.key, (list = []));
    list.push({ atMs: e.atMs, incarnation: e.incarnation });
  }
  const violations: string[] = [];
  for (const [key, list] of seen) {
    if (list.length > 1) violations.push(`${check.effect} ${JSON.stringify(key)} happened ${list.length} times (${list.map((o) => `at ${o.atMs} ms in run ${o.incarnation}`).join(', ')})`);
  }
  for (const key of check.keys ?? []) if (!seen.has(key)) violations.push(`${check.effect} ${JSON.stringify(key)} never happened`);
  fail(`${check.effect} exactly once per key`, violations);
}

/**
 * Per key, `group` handled messages in log order: the first delivery of each message, and its
 * first ack, come in offset order (what `ordering: 'key'` promises, retries and crashes included).
 */
export function expectKeyOrder(history: SimulationHistory, check: GroupCheck): void {
  const topics = topicsOf(history, check);
  const violations: string[] = [];
  const inOrder = (what: string, events: readonly { topic: string; partition: number; offset: number; key: string | undefined; group: string }[]) => {
    const firsts = new Set<string>();
    const last = new Map<string, number>();
    for (const e of events) {
      if (e.group !== check.group || !topics.has(e.topic) || e.key === undefined) continue;
      const id = messageId(e.topic, e.partition, e.offset);
      if (firsts.has(id)) continue; // a redelivery or a second ack: only the first counts
      firsts.add(id);
      const lane = `${e.topic}/${e.partition} key ${JSON.stringify(e.key)}`;
      const before = last.get(lane);
      if (before !== undefined && before > e.offset) violations.push(`${lane}: offset ${e.offset} was first ${what} after offset ${before}`);
      last.set(lane, Math.max(before ?? -1, e.offset));
    }
  };
  inOrder('delivered', history.deliveries);
  inOrder('acked', history.acks);
  fail(`per-key order for ${check.group}`, violations);
}

/**
 * Nothing was dead-lettered for the group (default: every group) whose handler never failed
 * (never nacked it): a message that ran out of attempts only because its leases expired (a
 * handler slower than `ackTimeoutMs`, not extending its lease) is a bug in the handler's timing.
 */
export function expectNoDeadLetterWithoutFailure(history: SimulationHistory, check: { readonly group?: string } = {}): void {
  refuseUnknownOptions('expectNoDeadLetterWithoutFailure check', check, ['group']);
  const failed = new Set(history.nacks.map((n) => `${n.group} ${messageId(n.topic, n.partition, n.offset)}`));
  const violations = history.deadLetters
    .filter((d) => (check.group === undefined || d.group === check.group) && !failed.has(`${d.group} ${messageId(d.topic, d.partition, d.offset)}`))
    .map((d) => `${messageId(d.topic, d.partition, d.offset)} was dead-lettered for ${d.group} after ${d.attempts} attempts, but no handler ever failed it (its leases ran out: slower than ackTimeoutMs without extend()?)`);
  fail('nothing dead-lettered that never failed', violations);
}
