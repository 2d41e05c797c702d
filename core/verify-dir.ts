// `ferry verify`: an offline, read-only check of a whole data directory (caller's thread). Every
// log (the catalog, the transaction decisions, each partition) is checked batch by batch
// (wal/verify-log.ts), each record decoded as the engine would read it, and the catalog is read
// and compared with the topics on disk. Nothing is opened for writing and no lock is taken.
import { join } from 'node:path';
import { nodeFileSystem, verifyLog, type LogCheck, type FileSystem, type ReadBatch, type SegmentInfo } from '../wal/index.ts';
import { readCatalog, type CatalogState } from './catalog.ts';
import { decodeBody, decodeControl, decodeMeta, messageSlices } from './codec.ts';
import { RecordType } from './records.ts';
import type { ReadableLog } from './snapshot-parts.ts';

/** Something found in a data directory. */
export interface DirectoryFinding {
  /** The file or directory, relative to the data directory. */
  readonly where: string;
  /** Byte position in the file, where it is one. */
  readonly position?: number;
  readonly offset?: number;
  readonly reason: string;
  /**
   * 'corrupt': confirmed data or the engine's state is damaged (Ferry.open refuses it, or would
   * misread it). 'torn-tail': a write a crash cut short, which the next open cuts (only
   * unconfirmed data). 'note': harmless, such as files a deleteTopic left for the next createTopic.
   */
  readonly kind: 'corrupt' | 'torn-tail' | 'note';
}

/** What `verifyDataDir` found. */
export interface DirectoryVerification {
  readonly dir: string;
  /** Every log checked, with its path relative to the data directory. */
  readonly logs: readonly (LogCheck & { readonly name: string })[];
  readonly findings: readonly DirectoryFinding[];
  /** True when nothing is corrupt (torn tails and notes allowed). */
  readonly ok: boolean;
}

/** Options of `verifyDataDir`. */
export interface VerifyOptions {
  /** Told after each log: how many are done of how many, and the bytes read so far. */
  readonly progress?: (done: number, total: number, bytes: number) => void;
  /** Seam: the simulator and tests pass their own. Default: Node's. */
  readonly fs?: FileSystem;
}

/** The catalog's batches kept for reading it back; a catalog is compacted far below this. */
const MAX_CATALOG_BYTES = 64 * 1024 * 1024;

function decodeError(error: unknown): string {
  return `does not decode (${error instanceof Error ? error.message : String(error)})`;
}

/** Decodes every record of a partition log's batch: messages of DATA batches, the control record of the others. */
function checkPartitionBatch(b: ReadBatch): string | undefined {
  try {
    if (b.type !== RecordType.DATA) {
      decodeControl(b.payload);
      return undefined;
    }
    const records = messageSlices(b.payload);
    if (records.length !== b.recordCount) return `holds ${records.length} messages where its header says ${b.recordCount}`;
    for (const record of records) {
      decodeMeta(record);
      decodeBody(record);
    }
    return undefined;
  } catch (error) {
    return decodeError(error);
  }
}

function checkControlBatch(b: ReadBatch): string | undefined {
  try {
    decodeControl(b.payload);
    return undefined;
  } catch (error) {
    return decodeError(error);
  }
}

/** A read-only log over batches kept in memory, for reading the catalog as the engine does. */
function memoryLog(dir: string, batches: readonly ReadBatch[], startOffset: number): ReadableLog {
  const nextOffset = batches.length === 0 ? startOffset : batches.at(-1)!.baseOffset + batches.at(-1)!.recordCount;
  const segment: SegmentInfo = { baseOffset: startOffset, endOffset: nextOffset, sizeBytes: 0, maxTimestamp: 0, active: true };
  return {
    dir,
    startOffset,
    nextOffset,
    segments: () => [segment],
    read: (from, options = {}) => batches.filter((b) => b.baseOffset >= from && b.baseOffset < (options.upToOffset ?? nextOffset)),
  };
}

/**
 * Checks a data directory without changing it: every segment's CRCs, offsets and checksum chain,
 * torn tails, every record's decoding, and the catalog against the topics on disk. Safe while
 * another process has the directory open (a write under way may then show as a torn tail).
 */
export function verifyDataDir(dir: string, options: VerifyOptions = {}): DirectoryVerification {
  const fs = options.fs ?? nodeFileSystem;
  const findings: DirectoryFinding[] = [];
  const topicsDir = join(dir, 'topics');
  const topicNames = fs.exists(topicsDir) ? fs.list(topicsDir).sort() : [];
  const partitionLogs = topicNames.flatMap((topic) =>
    fs
      .list(join(topicsDir, topic))
      .filter((p) => /^\d+$/.test(p))
      .sort((a, b) => Number(a) - Number(b))
      .map((p) => ({ name: `topics/${topic}/${p}`, topic, partition: Number(p) })),
  );
  const total = 2 + partitionLogs.length;
  const logs: (LogCheck & { name: string })[] = [];
  let bytes = 0;
  const check = (name: string, visit: (b: ReadBatch) => string | undefined): LogCheck | undefined => {
    const path = join(dir, name);
    if (!fs.exists(path)) return undefined;
    const result = verifyLog(fs, path, visit);
    logs.push({ ...result, name });
    for (const p of result.problems) findings.push({ where: `${name}/${p.file}`, position: p.position, offset: p.offset, reason: p.reason, kind: p.kind });
    bytes += result.bytes;
    options.progress?.(logs.length, total, bytes);
    return result;
  };

  // The catalog: its batches are kept (copied: a visitor's payload is a passing view) to read it back.
  const kept: ReadBatch[] = [];
  let keptBytes = 0;
  const catalogLog = check('_catalog', (b) => {
    keptBytes += b.payload.length;
    if (keptBytes <= MAX_CATALOG_BYTES) kept.push({ ...b, payload: b.payload.slice() });
    return checkControlBatch(b);
  });
  let catalog: CatalogState | undefined;
  if (!catalogLog) findings.push({ where: '_catalog', reason: 'there is no catalog: this is not a Ferry data directory, or its catalog was removed', kind: 'corrupt' });
  else if (keptBytes > MAX_CATALOG_BYTES) findings.push({ where: '_catalog', reason: `the catalog log holds over ${MAX_CATALOG_BYTES} bytes of records: not read back (topics unchecked)`, kind: 'note' });
  else {
    try {
      catalog = readCatalog(memoryLog(join(dir, '_catalog'), kept, catalogLog.startOffset));
    } catch (error) {
      findings.push({ where: '_catalog', reason: `the engine cannot read it: ${error instanceof Error ? error.message : String(error)}`, kind: 'corrupt' });
    }
  }
  check('_transactions', checkControlBatch);
  for (const log of partitionLogs) check(log.name, checkPartitionBatch);
  if (catalog) findings.push(...compareCatalog(catalog, topicNames, partitionLogs));
  return { dir, logs, findings, ok: findings.every((f) => f.kind !== 'corrupt') };
}

/** The catalog against the topic directories. */
function compareCatalog(catalog: CatalogState, topicNames: readonly string[], partitionLogs: readonly { topic: string; partition: number }[]): DirectoryFinding[] {
  const findings: DirectoryFinding[] = [];
  for (const topic of topicNames) {
    if (!catalog.topics.has(topic)) findings.push({ where: `topics/${topic}`, reason: 'files of a topic the catalog does not hold (a deleteTopic a crash interrupted): removed when a topic of that name is created again', kind: 'note' });
  }
  for (const [topic, o] of catalog.topics) {
    const here = partitionLogs.filter((l) => l.topic === topic);
    for (const l of here) {
      if (l.partition >= o.partitions) findings.push({ where: `topics/${topic}/${l.partition}`, reason: `partition ${l.partition} of a topic of ${o.partitions} partitions: the engine never reads it`, kind: 'corrupt' });
    }
    const missing = Array.from({ length: o.partitions }, (_, p) => p).filter((p) => !here.some((l) => l.partition === p));
    if (missing.length > 0) findings.push({ where: `topics/${topic}`, reason: `no log for partition${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (never written: the next open creates ${missing.length > 1 ? 'them' : 'it'} empty)`, kind: 'note' });
    if (o.deadLetter !== false && !catalog.topics.has(o.deadLetter)) findings.push({ where: '_catalog', reason: `topic ${JSON.stringify(topic)} dead-letters into ${JSON.stringify(o.deadLetter)}, which the catalog does not hold: its letters cannot be stored`, kind: 'corrupt' });
  }
  return findings;
}
