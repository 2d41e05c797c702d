// Follows a topic's messages in a data directory without opening it (`ferry tail --follow`):
// one read-only LogFollower per partition, polled while nothing new is found; no consumer group,
// no lock, nothing written, so the process that owns the directory may be writing meanwhile.
// Memory stays bounded: each poll takes at most `maxBytes` per partition, and the next poll waits
// until the caller has taken every message of this one.
import { join } from 'node:path';
import { CorruptSegmentError, InvalidArgumentError, LogFollower, nodeFileSystem, realClock, verifyLog, type Clock, type FileSystem, type FollowStart } from '../wal/index.ts';
import type { StoredMessageView } from './admin.ts';
import { decodeBody, decodeMeta, messageSlices } from './codec.ts';
import { readDeadLetterInfo } from './dead-letter.ts';
import { checkName } from './names.ts';
import { refuseUnknownOptions } from './option-names.ts';
import { RecordType } from './records.ts';

/** Options of `followTopic`. */
export interface FollowOptions {
  /** One partition (default: every partition directory of the topic). */
  readonly partition?: number;
  /** An offset (each partition's), 'earliest', or 'end' (default: only messages written from now on). */
  readonly from?: FollowStart;
  /** How long to wait between polls that found nothing. Default 200 ms. */
  readonly pollMs?: number;
  /** Stops the iteration (as leaving the loop does). */
  readonly signal?: AbortSignal;
  /**
   * Ends the iteration once everything written is read, instead of waiting for more; then damage
   * inside a log (valid data after a bad batch) throws CORRUPT_SEGMENT with the file and byte.
   */
  readonly stopAtEnd?: boolean;
  /** Seams: tests pass their own. */
  readonly fs?: FileSystem;
  readonly clock?: Clock;
}

/** Bytes of batches one poll takes per partition. */
const POLL_BYTES = 1024 * 1024;

/**
 * Yields the messages of `topic` in the data directory `dir` as they are written, in offset
 * order per partition, until the signal aborts or the loop is left. It reads the files only: it
 * sees what is written, which with `fsync: 'interval'` can be a moment ahead of what is confirmed,
 * and shows messages of committed transactions only.
 */
export async function* followTopic<V = unknown>(dir: string, topic: string, options: FollowOptions = {}): AsyncGenerator<StoredMessageView<V>, void, undefined> {
  refuseUnknownOptions('followTopic options', options, ['partition', 'from', 'pollMs', 'signal', 'stopAtEnd', 'fs', 'clock']);
  checkName('topic', topic);
  const fs = options.fs ?? nodeFileSystem;
  const clock = options.clock ?? realClock;
  const pollMs = options.pollMs ?? 200;
  if (!Number.isSafeInteger(pollMs) || pollMs < 1 || pollMs > 60_000) throw new InvalidArgumentError(`followTopic pollMs must be a whole number of ms from 1 to 60000 (got ${String(options.pollMs)})`);
  const from = options.from ?? 'end';
  if (typeof from === 'number' ? !Number.isSafeInteger(from) || from < 0 : from !== 'earliest' && from !== 'end') throw new InvalidArgumentError(`followTopic from must be an offset, 'earliest' or 'end' (got ${String(from)})`);
  const topicDir = join(dir, 'topics', topic);
  if (!fs.exists(topicDir)) throw new InvalidArgumentError(`${JSON.stringify(dir)} has no topic ${JSON.stringify(topic)} (no ${topicDir}); give a topic of the directory`);
  const partitions = options.partition !== undefined ? [options.partition] : fs.list(topicDir).filter((p) => /^\d+$/.test(p)).map(Number).sort((a, b) => a - b);
  const followers = partitions.map((partition) => ({ partition, follower: new LogFollower(fs, join(topicDir, String(partition)), from) }));
  const skipBefore = typeof from === 'number' ? from : 0;
  while (!options.signal?.aborted) {
    let found = 0;
    for (const { partition, follower } of followers) {
      for (const batch of follower.poll(POLL_BYTES)) {
        if (batch.type !== RecordType.DATA) continue;
        const records = messageSlices(batch.payload);
        for (const [i, record] of records.entries()) {
          const offset = batch.baseOffset + i;
          if (offset < skipBefore) continue;
          const meta = decodeMeta(record);
          const body = decodeBody(record);
          found++;
          yield { topic, partition, offset, publishedAt: batch.timestamp, value: body.value as V, key: meta.key, id: meta.id, headers: body.headers, deadLetter: readDeadLetterInfo(body.headers) };
          if (options.signal?.aborted) return;
        }
      }
    }
    if (found > 0) continue;
    if (options.stopAtEnd) return refuseDamage(fs, topicDir, partitions);
    await sleep(clock, pollMs, options.signal);
  }
}

/**
 * A follower stops at a batch it cannot read, as it must while that batch is still being
 * written; at the end of a `stopAtEnd` read that looks like the end of the topic. Each log is
 * checked (as `ferry verify` does) so damage with data after it is an error naming the file and
 * byte, not a silent end (trial of the packed package: `ferry tail` of a corrupt directory ended
 * at the damage with exit 0). A torn tail, a crash's unconfirmed last write, is not damage.
 */
function refuseDamage(fs: FileSystem, topicDir: string, partitions: readonly number[]): void {
  for (const partition of partitions) {
    const dir = join(topicDir, String(partition));
    if (!fs.exists(dir)) continue;
    const damage = verifyLog(fs, dir).problems.find((p) => p.kind === 'corrupt');
    if (damage) throw new CorruptSegmentError(join(dir, damage.file), damage.position, `${damage.reason}; what was read ends before offset ${damage.offset}`, { found: 'read' });
  }
}

/** Waits `ms`, or less if the signal aborts. */
function sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    // Kept alive: following is the work a `ferry tail --follow` process is there for.
    const timer = clock.setTimer(
      ms,
      () => {
        signal?.removeEventListener('abort', stop);
        resolve();
      },
      { keepAlive: true },
    );
    const stop = (): void => {
      timer.cancel();
      resolve();
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
