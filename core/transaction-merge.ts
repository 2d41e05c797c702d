// Commits several buffered transactions as one (issue 13): the exactlyOnce handlers' transactions
// ready together become one prepare per partition and one decision, instead of a prepare per
// partition per handler and a decision each. Runs on the engine's thread.
//
//   members ──absorb (copies their parts)──► merged ──commit──► committed: every member committed
//                                                     └───────► aborted (nothing happened): each member commits on its own
//                                                     └───────► uncertain (its decision failed its sync): every member fails as it would alone
import type { Transaction } from './transaction.ts';

/**
 * Commits `members` (buffered, open transactions) and returns each one's outcome, in order: as
 * merged transactions, each as large as the transaction limits allow. A merged transaction is
 * atomic, so each member's publishes and acks take effect together or not at all, as alone. A
 * merged commit that failed before its decision (one member's lease expired, say) changed nothing:
 * every member is then committed on its own, so one member's failure is its own and no other's.
 */
export function commitTogether(members: readonly Transaction[]): Promise<void>[] {
  const outcomes: Promise<void>[] = [];
  for (let i = 0; i < members.length; ) {
    if (i === members.length - 1) {
      outcomes.push(members[i++]!.commit());
      continue;
    }
    let merged: Transaction;
    try {
      merged = members[i]!.host.begin();
    } catch {
      for (; i < members.length; i++) outcomes.push(members[i]!.commit()); // too many open: each alone, as before merging
      break;
    }
    const group: Transaction[] = [];
    for (; i < members.length && absorbed(merged, members[i]!); i++) group.push(members[i]!);
    if (group.length === 0) {
      merged.host.forget(merged); // the member is not open (its commit reports why)
      outcomes.push(members[i++]!.commit());
      continue;
    }
    outcomes.push(...commitGroup(merged, group));
  }
  return outcomes;
}

function absorbed(merged: Transaction, member: Transaction): boolean {
  try {
    return merged.absorb(member);
  } catch {
    return false;
  }
}

function commitGroup(merged: Transaction, group: readonly Transaction[]): Promise<void>[] {
  // true: committed; false: aborted, nothing of it happened; rejected: the outcome is the disk's.
  const outcome = merged.commit().then(
    () => true,
    (error: unknown) => (merged.state === 'aborted' ? false : Promise.reject(error)),
  );
  return group.map((member) =>
    outcome.then(
      (committed) => {
        if (!committed) {
          member.reopen();
          return member.commit();
        }
        member.finish(true);
        member.host.forget(member);
        return undefined;
      },
      (error: unknown) => {
        member.host.forget(member); // left `committing`, as a transaction whose own decision failed its sync
        throw error;
      },
    ),
  );
}
