// Planted bugs the fault checks must catch. Each is applied to a temporary copy of the project,
// never to the shipped code, by `npm run mutants` (run.ts).

/** One planted bug: text replacements in source files, and what it breaks. */
export interface Mutant {
  readonly name: string;
  readonly breaks: string;
  readonly edits: readonly { readonly file: string; readonly find: string; readonly replace: string }[];
}

export const MUTANTS: readonly Mutant[] = [
  {
    name: 'confirm-before-fdatasync',
    breaks: 'confirmed means durable',
    edits: [
      {
        file: 'wal/group-commit.ts',
        find: "      else this.#arm();\n    });",
        replace: "      else this.#arm();\n      resolve(); // MUTANT: confirmed before the sync\n    });",
      },
    ],
  },
  {
    name: 'ack-without-record',
    breaks: 'acks are durable',
    edits: [
      {
        file: 'core/partition-settlement.ts',
        find: '      this.#journal.record(RecordType.ACK, { g: group, o: batch.offsets, ...(batch.keys.length > 0 ? { k: batch.keys } : {}) }, () => {',
        replace: '      Promise.resolve((() => { // MUTANT: no ACK record',
      },
      { file: 'core/partition-settlement.ts', find: '        if (batch.keys.length > 0) this.#once?.record(group, batch.keys, wall);\n      }).then(', replace: '        if (batch.keys.length > 0) this.#once?.record(group, batch.keys, wall);\n      })()).then(' },
    ],
  },
  {
    name: 'no-key-ordering',
    breaks: 'one message per key in flight',
    edits: [{ file: 'core/group-state.ts', find: '    return k === undefined || this.#keyQueues.get(k)?.[0] === p.offset;', replace: '    return k === undefined || k !== undefined; // MUTANT' }],
  },
  {
    name: 'deliver-beyond-durable',
    breaks: 'only durable messages are delivered',
    edits: [{ file: 'core/partition-deliveries.ts', find: 'g.cursor < log.committedEnd) {', replace: 'g.cursor < log.nextOffset) { // MUTANT' }, { file: 'core/partition-deliveries.ts', find: "const batches = resumes ? [stop.batch] : log.read(from, { maxBytes: 256 * 1024 });", replace: "const batches = resumes ? [stop.batch] : log.read(from, { maxBytes: 256 * 1024, upToOffset: log.nextOffset });" }],
  },
  {
    name: 'skip-dedupe-check',
    breaks: 'a message id within the window is stored once',
    edits: [{ file: 'core/partition-publisher.ts', find: 'this.#c.options.dedupWindowMs > 0 ? this.#ids : undefined', replace: 'undefined /* MUTANT: no dedupe */' }],
  },
  {
    name: 'id-dedupe-before-durable',
    breaks: 'a repeated id is confirmed only once its original is durable',
    edits: [{ file: 'core/partition-publisher.ts', find: '      if (offsets.some((o) => o >= log.committedEnd)) await log.sync();', replace: '      // MUTANT: answered before the originals are durable' }],
  },
  {
    name: 'lost-attempt-count',
    breaks: 'attempt counts are durable',
    edits: [{ file: 'core/partition-replay.ts', find: '      case RecordType.RETRY:\n      case RecordType.DEAD_INTENT: {', replace: '      case RecordType.DEAD_INTENT: { // MUTANT: RETRY records ignored on replay' }],
  },
  {
    name: 'stale-lease-token',
    breaks: 'only the current delivery can settle a message',
    edits: [{ file: 'core/partition-settlement.ts', find: 'if (!p.lease || p.lease.token !== token) {', replace: 'if (!p.lease) { // MUTANT: any token will do' }],
  },
  {
    name: 'redrive-twice',
    breaks: 'a redrive moves each dead letter once',
    edits: [
      // Forgets which letters it moved: no stable dedupe key for the copy, and the letter stays.
      { file: 'core/redrive.ts', find: 'request: { payload: frameMessages([record]), count: 1, ids: [dedupeKey] } });', replace: 'request: { payload: frameMessages([record]), count: 1 } }); // MUTANT: no dedupe key' },
      { file: 'core/redrive.ts', find: "await settle(p, { kind: 'ack', offset: m.offset, token: m.token });", replace: '// MUTANT: letter not acked' },
    ],
  },
  {
    name: 'checkpoint-misses-writes',
    breaks: 'a checkpoint holds every record before it',
    edits: [
      // The snapshot is taken a millisecond before it is written: records written meanwhile lie before the
      // checkpoint (so replay skips them) yet are not in it (issue 9: checkpoints in parts).
      {
        file: 'core/partition-journal.ts',
        find: '      this.#lastCheckpoint = await writeSnapshot(log, CHECKPOINT_KIND, state, this.#c.clock.now(), this.#c.limits.checkpointPartBytes);',
        replace: '      await new Promise<void>((resolve) => this.#c.clock.setTimer(1, resolve)); // MUTANT\n      this.#lastCheckpoint = await writeSnapshot(log, CHECKPOINT_KIND, state, this.#c.clock.now(), this.#c.limits.checkpointPartBytes);',
      },
    ],
  },
  {
    name: 'skip-corrupt-batch',
    breaks: 'corruption is reported, never skipped',
    edits: [{ file: 'wal/segment.ts', find: "if (!crcMatches(whole.bytes, whole.at, header)) throw this.#corrupt(position, 'crc mismatch');", replace: 'if (!crcMatches(whole.bytes, whole.at, header)) { position += header.length; continue; } // MUTANT: skipped' }],
  },
  {
    name: 'truncate-on-corruption',
    breaks: 'recovery refuses a log damaged in the middle',
    edits: [{ file: 'wal/recovery.ts', find: 'if (damagedSynced && !options.repair) {', replace: 'if (damagedSynced && !options.repair && false) { // MUTANT: cut away as a torn tail' }],
  },
  {
    name: 'attempt-charged-while-buffered',
    breaks: 'a message waiting in a consumer buffer is never charged an attempt',
    edits: [{ file: 'core/partition-settlement.ts', find: '        if (!p.lease.started) {', replace: '        if (!p.lease.started && false) { // MUTANT: every expiry charges' }],
  },
  {
    // The engine before issue 9 §3 "Time": a forward step of the wall clock expired every lease.
    name: 'durations-on-wall-clock',
    breaks: 'a wall-clock step charges no attempt (leases run on monotonic time)',
    edits: [
      {
        file: 'core/partition-actor.ts',
        find: '  static open(c: PartitionContext): PartitionActor {\n',
        replace:
          '  static open(c: PartitionContext): PartitionActor {\n' +
          '    const real = c.clock; // MUTANT: the partition measures durations on wall time\n' +
          '    c = { ...c, clock: { now: () => real.now(), monotonicNow: () => real.now(), setTimer: (ms, fn, o) => real.setTimer(ms, fn, o), defer: (fn) => real.defer(fn) } };\n',
      },
    ],
  },
  {
    // The client before issue 9 §2: a release went to the partition at once while the acks given
    // before it waited for the end of the turn, so a closing consumer's release took back leases
    // whose acks were on their way, and those acks were refused.
    name: 'release-overtakes-ack',
    breaks: 'a release never overtakes an ack given before it',
    edits: [
      {
        file: 'core/settle-queue.ts',
        find: '  enqueue(item: SettleItem, waiting: SettleAnswer): void {\n',
        replace:
          '  enqueue(item: SettleItem, waiting: SettleAnswer): void {\n' +
          "    if (item.kind === 'release') { // MUTANT: sent at once, ahead of this turn's acks\n" +
          "      this.#runtime.call({ op: 'settle', topic: this.#topic, partition: this.#partition, group: this.#group, items: [item] }).then(() => waiting.applied(), (e: unknown) => waiting.refused(e));\n" +
          '      return;\n' +
          '    }\n',
      },
    ],
  },
  {
    // Found by a flaky test on a real clock, not by the simulator until its clock crept: a retry
    // scheduled by a later clock reading than the fetch's left the ready queue for nowhere.
    name: 'ready-entry-dropped',
    breaks: 'a message made ready is delivered (liveness)',
    edits: [{ file: 'core/group-state.ts', find: '        this.#dueHeap.push({ at: p.due, seq: this.#seq++, offset });\n        continue;', replace: '        continue; // MUTANT: dropped from the ready queue' }],
  },
  {
    // Issue 13: a transaction's messages written where consumers see them at prepare, before the
    // decision: an aborted (or never decided) transaction's outputs are delivered, a committed
    // one's twice.
    name: 'tx-outputs-before-decision',
    breaks: 'an aborted transaction takes no effect (isolation until the decision)',
    edits: [
      {
        file: 'core/partition-transactions.ts',
        find: '      for (const a of acks) this.#settlement.reserve(a.group, a.offset);\n    });',
        replace: '      for (const a of acks) this.#settlement.reserve(a.group, a.offset);\n    });\n    if (part) void this.#s.c.log.append({ type: RecordType.DATA, recordCount: part.count, payload: part.payload, timestamp: this.#s.c.clock.now() }); // MUTANT: visible at prepare',
      },
    ],
  },
  {
    // Issue 13: recovery decides an in-doubt half transaction by itself (presumed abort), without
    // the check-back: a local transaction that committed loses its messages.
    name: 'in-doubt-resolved-without-asking',
    breaks: 'an in-doubt half transaction takes the check-back\'s answer',
    edits: [{ file: 'core/transactions.ts', find: 'if (this.#live.has(key) || this.#inDoubt.has(key) || (halves.has(key) && this.#o.decisions.decision(key) === undefined)) return;', replace: 'if (this.#live.has(key)) return; // MUTANT: in doubt or not, decided without asking' }],
  },
  {
    // Issue 13: a partition applies a committed transaction's acks but not its messages.
    name: 'tx-ack-without-outputs',
    breaks: 'a committed transaction takes all its effect (its acks with its outputs)',
    edits: [{ file: 'core/partition-transactions.ts', find: '    if (!tx.dataApplied && count > 0) {', replace: '    if (!tx.dataApplied && count > 0 && false) { // MUTANT: the acks alone' }],
  },
  {
    // Issue 11: the leases of one fetch share one heap entry; expiry reads only its first lease:
    // a message a handler dropped after the first of its fetch never comes back.
    name: 'lease-batch-first-only',
    breaks: 'every message is delivered until acked (a lease that ran out is redelivered)',
    edits: [{ file: 'core/group-state.ts', find: '      for (let i = 0; i < e.offsets.length; i++) {', replace: '      for (let i = 0; i < Math.min(1, e.offsets.length); i++) { // MUTANT: first lease only' }],
  },
  {
    // Issue 13: an exactlyOnce run()'s merged commit that aborted before its decision (a member's
    // lease ran out, a prepare's reply was lost) reports every member committed instead of
    // committing each alone: handlers whose outputs and acks never took effect are told they did.
    name: 'merged-abort-reported-committed',
    breaks: 'a committed transaction takes all its effect (each member of a merged commit)',
    edits: [{ file: 'core/transaction-merge.ts', find: "(merged.state === 'aborted' ? false : Promise.reject(error))", replace: "(merged.state === 'aborted' ? true : Promise.reject(error)) // MUTANT: aborted, reported committed" }],
  },
  {
    // Issue 12: a group reset applied in memory but never written to the log: after a restart the
    // group is back at its old position (acked messages it was reset past return, or the replay it
    // asked for is lost).
    name: 'reset-without-record',
    breaks: 'a reset is durable (after a reset the group gets exactly the messages from its point on)',
    edits: [
      {
        file: 'core/partition-actor.ts',
        find: '    await this.#journal.record(RecordType.GROUP_RESET, { g: group, ord: g.ordering, c: cursor } satisfies GroupRecord, () => {\n      groups.set(group, new GroupState(group, g.ordering, cursor));\n      this.#settlement.forgetGroup(group);\n      this.#deliveries.answerEmpty((request) => request.group === group);\n    });',
        replace: '    await Promise.resolve((() => { // MUTANT: no GROUP_RESET record\n      groups.set(group, new GroupState(group, g.ordering, cursor));\n      this.#settlement.forgetGroup(group);\n      this.#deliveries.answerEmpty((request) => request.group === group);\n    })());',
      },
    ],
  },
  {
    // Issue 11: the RETRY records of one settle command's nacks go in one append; a write that
    // keeps only the first record while every nack takes effect in memory loses the others'
    // attempt counts at a crash (a message then gets more attempts than maxDeliveries allows).
    name: 'nack-batch-first-record-only',
    breaks: 'the attempt count is durable (dead-lettered after exactly maxDeliveries attempts)',
    edits: [{ file: 'core/partition-settlement.ts', find: '    const records = retries.map((r) => ({ type: RecordType.RETRY, body: r.body }));', replace: '    const records = retries.slice(0, 1).map((r) => ({ type: RecordType.RETRY, body: r.body })); // MUTANT: the first record only' }],
  },
  {
    // Issue 11: recovery takes a file that ends in zeros (the zero fill ahead of the appends) for
    // one that ends cleanly at its first bad batch, without checking that everything from there
    // on is zero: damage to synced data in the active segment cuts the confirmed batches after it.
    name: 'zero-tail-unchecked',
    breaks: 'confirmed means durable (corruption followed by valid batches is refused, not cut)',
    edits: [{ file: 'wal/segment-scan.ts', find: '  if (problem && isZeroTail(handle, position, sizeBytes)) problem = undefined;', replace: '  if (problem && isZeroTail(handle, sizeBytes - 1, sizeBytes)) problem = undefined; // MUTANT: only the last byte checked' }],
  },
];
