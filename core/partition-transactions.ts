// A partition's side of transactions (issue 13, docs/TRANSACTIONS.md): a transaction's messages
// and acks on this partition are prepared in TX_PREPARE control records (never delivered; the
// acked deliveries reserved), then applied (the messages as one tagged DATA batch, the acks
// settled, TX_DONE) or dropped when the engine sends the decision. Runs on the partition's thread.
import { readClock } from './clock-reading.ts';
import { StaleDeliveryError } from './errors.ts';
import { encodeControl, frameMessages, messageSlices } from './codec.ts';
import type { GroupState } from './group-state.ts';
import type { PartitionJournal } from './partition-journal.ts';
import type { TxPrepareCommand } from './partition-protocol.ts';
import type { PartitionScope } from './partition-scope.ts';
import type { PartitionSettlement } from './partition-settlement.ts';
import { dropDuplicateIds } from './publish-dedupe.ts';
import type { MessageIdWindow } from './producer-state.ts';
import type { OnceKeys } from './once-keys.ts';
import { DataFlag, RecordType, TX_APPLY_EPOCH, TxRecordType, type PreparedTxSnapshot, type TxAck, type TxDoneRecord, type TxPrepareRecord } from './records.ts';
import { TooManyTransactionsError, TransactionAbortedError } from './transaction-errors.ts';
import { InvalidArgumentError, type AppendInput } from '../wal/index.ts';

/** Prepared transactions per partition when `limits.maxOpenTransactions` is not given. */
export const DEFAULT_MAX_OPEN_TRANSACTIONS = 10_000;

/** Finished transaction ids remembered (in memory) so a late or duplicated prepare of one is refused. */
const FINISHED_IDS = 4096;

/** One prepared part: its part number, messages (framed), their count and ids. */
export interface TxPart {
  readonly k: number;
  readonly m: Uint8Array | null;
  readonly n: number;
  readonly i: (string | null)[] | null;
}

/** A transaction prepared on this partition, waiting for its decision. */
export interface PreparedTx {
  readonly id: string;
  readonly seq: number;
  readonly parts: TxPart[];
  readonly acks: TxAck[];
  /** Its messages are already in the log (a crash came between the tagged DATA batch and TX_DONE). */
  dataApplied: boolean;
}

const ackKey = (group: string, offset: number): string => `${offset}\u0000${group}`;

/** The prepared transactions of one partition: rebuilt by replay, kept in checkpoints. */
export class PreparedTable {
  readonly byId = new Map<string, PreparedTx>();
  /** The sequence the next transaction prepared here gets (tags its DATA batch). */
  nextSeq = 0;
  /** Acked deliveries reserved by a prepared transaction: group+offset -> transaction id. */
  readonly #reserved = new Map<string, string>();
  readonly #bySeq = new Map<number, PreparedTx>();

  /** The prepared transaction holding this delivery, if any. */
  reservedBy(group: string, offset: number): string | undefined {
    if (this.#reserved.size === 0) return undefined; // asked for every message delivered: no key string then
    return this.#reserved.get(ackKey(group, offset));
  }

  /** Adds one prepared part (live or replayed). */
  add(r: TxPrepareRecord): PreparedTx {
    let tx = this.byId.get(r.t);
    if (!tx) {
      tx = { id: r.t, seq: r.s, parts: [], acks: [], dataApplied: false };
      this.byId.set(r.t, tx);
      this.#bySeq.set(r.s, tx);
    }
    this.nextSeq = Math.max(this.nextSeq, r.s + 1);
    if (tx.parts.some((p) => p.k === r.k)) return tx;
    tx.parts.push({ k: r.k, m: r.m ?? null, n: r.n, i: r.i ? [...r.i] : null });
    for (const ack of r.a) {
      const [g, o] = ack;
      tx.acks.push(ack);
      this.#reserved.set(ackKey(g, o), r.t);
    }
    return tx;
  }

  /** The tagged DATA batch of transaction `seq` is in the log. */
  applied(seq: number): void {
    const tx = this.#bySeq.get(seq);
    if (tx) tx.dataApplied = true;
  }

  /** The transaction is done here (applied or dropped). */
  remove(id: string): PreparedTx | undefined {
    const tx = this.byId.get(id);
    if (!tx) return undefined;
    this.byId.delete(id);
    this.#bySeq.delete(tx.seq);
    for (const [g, o] of tx.acks) this.#reserved.delete(ackKey(g, o));
    return tx;
  }

  snapshot(): { seq: number; prepared: PreparedTxSnapshot[] } {
    return {
      seq: this.nextSeq,
      prepared: [...this.byId.values()].map((tx) => [tx.id, tx.seq, tx.parts.map((p) => [p.k, p.m, p.n, p.i]), [...tx.acks], tx.dataApplied]),
    };
  }

  restore(s: { readonly seq: number; readonly prepared: PreparedTxSnapshot[] } | undefined): void {
    if (!s) return;
    this.nextSeq = s.seq;
    for (const [id, seq, parts, acks, dataApplied] of s.prepared) {
      parts.forEach(([k, m, n, i], at) => this.add({ t: id, s: seq, k, ...(m ? { m } : {}), n, ...(i ? { i } : {}), a: at === 0 ? acks : [] }));
      if (dataApplied) this.applied(seq);
    }
  }
}

/** What the partition is told after a transaction applied. */
export interface TxHooks {
  /** Records appended (they count toward the next checkpoint). */
  readonly appended: (records: number) => void;
  /** Messages or settled acks are durable: parked fetches may take what is free. */
  readonly stored: () => void;
}

/** Prepares, applies and drops transactions on one partition. */
export class PartitionTransactions {
  readonly #s: PartitionScope;
  readonly #journal: PartitionJournal;
  readonly #table: PreparedTable;
  readonly #ids: MessageIdWindow;
  readonly #settlement: PartitionSettlement;
  readonly #hooks: TxHooks;
  readonly #once: OnceKeys | undefined;
  /** Recently finished ids and whether they committed (bounded, oldest first out). */
  readonly #finished = new Map<string, boolean>();

  constructor(scope: PartitionScope, journal: PartitionJournal, table: PreparedTable, ids: MessageIdWindow, settlement: PartitionSettlement, hooks: TxHooks, once?: OnceKeys) {
    this.#s = scope;
    this.#once = once;
    this.#journal = journal;
    this.#table = table;
    this.#ids = ids;
    this.#settlement = settlement;
    this.#hooks = hooks;
  }

  /** True while a prepared transaction holds the delivery: it is not handed out again. */
  reserved(group: string, offset: number): boolean {
    return this.#table.reservedBy(group, offset) !== undefined;
  }

  /** Ids of the transactions prepared here, waiting for their decision. */
  list(): string[] {
    return [...this.#table.byId.keys()];
  }

  /**
   * Prepares one part of a transaction: checks that every ack's lease is current (STALE_DELIVERY,
   * and nothing changes, if not), reserves those deliveries and writes TX_PREPARE. Resolves once
   * it is durable. A repeated part (a duplicated request) is answered once it is durable.
   */
  async prepare(command: TxPrepareCommand): Promise<null> {
    this.#s.checkOpen();
    const { txId, part, acks } = command;
    const finished = this.#finished.get(txId);
    if (finished !== undefined) throw new TransactionAbortedError(txId, finished ? 'it already committed on this partition' : 'its abort reached this partition first');
    const tx = this.#table.byId.get(txId);
    if (tx?.parts.some((p) => p.k === command.k)) {
      await this.#s.c.log.sync();
      return null;
    }
    const max = this.#s.c.limits.maxOpenTransactions ?? DEFAULT_MAX_OPEN_TRANSACTIONS;
    if (!tx && this.#table.byId.size >= max) throw new TooManyTransactionsError(max, this.#s.where);
    if (part && (!(part.payload instanceof Uint8Array) || messageSlices(part.payload).length !== part.count)) throw new InvalidArgumentError('a transaction part must carry framed messages and their count');
    const seen = new Set<string>();
    for (const a of acks) {
      const key = ackKey(a.group, a.offset);
      if (seen.has(key) || this.reserved(a.group, a.offset)) throw new StaleDeliveryError(this.#s.c.topic, this.#s.c.partition, a.offset, 'already settled, by a transaction');
      seen.add(key);
      this.#settlement.checkLease(a.group, a.offset, a.token, 'ack');
    }
    const record: TxPrepareRecord = {
      t: txId,
      s: tx?.seq ?? this.#table.nextSeq,
      k: command.k,
      ...(part ? { m: part.payload, ...(part.ids ? { i: part.ids } : {}) } : {}),
      n: part?.count ?? 0,
      a: acks.map((a): TxAck => (a.keys && a.keys.length > 0 ? [a.group, a.offset, [...a.keys]] : [a.group, a.offset])),
    };
    await this.#journal.record(TxRecordType.TX_PREPARE, record, () => {
      this.#table.add(record);
      // A reserved delivery is neither acked again nor expired (a lease running out is ignored).
      for (const a of acks) this.#settlement.reserve(a.group, a.offset);
    });
    return null;
  }

  /**
   * Applies (commit) or drops (abort) a prepared transaction; resolves true once that is durable,
   * false if the transaction is not prepared here (never was, or already done: deciding is idempotent).
   */
  async decide(txId: string, commit: boolean): Promise<boolean> {
    this.#s.checkOpen();
    const tx = this.#table.byId.get(txId);
    if (!tx) {
      // An abort that overtook its prepare: the prepare, when it comes, is refused.
      if (!this.#finished.has(txId)) this.#remember(txId, commit);
      // Decided here already, maybe not durably yet (the table forgets it once the record is
      // written): answered only once everything written is durable, else the engine forgets its
      // decision while a power loss can still undo the apply here (fresh seed 197481806: the retry
      // of a commit whose reply was lost was answered at once, the apply was lost with the power,
      // and the sweep then presumed the transaction aborted on this partition).
      await this.#s.c.log.sync();
      return false;
    }
    if (commit) await this.#apply(tx);
    else await this.#drop(tx);
    this.#hooks.stored();
    return true;
  }

  #remember(txId: string, commit: boolean): void {
    this.#finished.set(txId, commit);
    if (this.#finished.size > FINISHED_IDS) this.#finished.delete(this.#finished.keys().next().value!);
  }

  /** Appends the messages (tagged DATA, after id dedupe) and TX_DONE in one append; settles the acks. */
  async #apply(tx: PreparedTx): Promise<void> {
    const { c } = this.#s;
    const { wall, mono } = readClock(c.clock);
    const parts = [...tx.parts].sort((a, b) => a.k - b.k).filter((p) => p.m && p.n > 0);
    const count = parts.reduce((n, p) => n + p.n, 0);
    const inputs: AppendInput[] = [];
    const newIds: [string, number][] = [];
    if (!tx.dataApplied && count > 0) {
      const payload = parts.length === 1 ? parts[0]!.m! : frameMessages(parts.flatMap((p) => messageSlices(p.m!)));
      const anyIds = parts.some((p) => p.i);
      const ids = anyIds ? parts.flatMap((p) => p.i ?? Array<null>(p.n).fill(null)) : undefined;
      const deduped = dropDuplicateIds({ payload, count, ...(ids ? { ids } : {}) }, c.options.dedupWindowMs > 0 ? this.#ids : undefined, mono);
      if (deduped.count > 0) {
        inputs.push({ type: RecordType.DATA, flags: anyIds ? 0 : DataFlag.NO_IDS, recordCount: deduped.count, payload: deduped.payload, timestamp: wall, producerId: tx.seq, producerEpoch: TX_APPLY_EPOCH, baseSequence: -1 });
        let next = c.log.nextOffset;
        ids?.forEach((id, i) => {
          if (deduped.duplicates[i]) return;
          const offset = next++;
          if (id) newIds.push([id, offset]);
        });
      }
    }
    inputs.push({ type: TxRecordType.TX_DONE, recordCount: 1, payload: encodeControl({ t: tx.id, c: 1, a: tx.acks } satisfies TxDoneRecord), timestamp: wall });
    const log = c.log;
    const before = log.nextOffset;
    const durable = log.appendMany(inputs);
    if (log.nextOffset === before) {
      await durable; // not written (disk full, overloaded): rejects with the reason, nothing changed
      throw new Error('unreachable: an append that wrote nothing resolved');
    }
    for (const [id, offset] of newIds) this.#ids.add(id, offset, mono);
    this.#table.remove(tx.id);
    this.#remember(tx.id, true);
    const held = this.#settleAcks(tx.acks, mono, wall);
    this.#hooks.appended(inputs.length);
    await durable;
    const now = c.clock.monotonicNow();
    for (const [g, offset] of held) g.releaseKey(offset, now);
  }

  /** Settles a committed transaction's acks; returns those of ordered groups, whose key waits for durability. */
  #settleAcks(acks: readonly TxAck[], now: number, wall: number): [GroupState, number][] {
    const held: [GroupState, number][] = [];
    for (const [group, offset, keys] of acks) {
      const g = this.#s.groups.get(group);
      if (!g) continue; // deleted meanwhile
      if (keys) this.#once?.record(group, keys, wall);
      const holdKey = g.ordering !== 'none';
      g.settle(offset, now, holdKey);
      if (holdKey) held.push([g, offset]);
    }
    return held;
  }

  /** Drops a prepared transaction: its messages are never written, its reserved deliveries free again. */
  async #drop(tx: PreparedTx): Promise<void> {
    await this.#journal.record(TxRecordType.TX_DONE, { t: tx.id, c: 0, a: [] } satisfies TxDoneRecord, () => {
      this.#table.remove(tx.id);
      this.#remember(tx.id, false);
      for (const [group, offset] of tx.acks) this.#settlement.unreserve(group, offset);
    });
  }
}
