// Redis Streams as a benchmark target (ioredis): XADD to publish (a pipeline for a batch),
// XREADGROUP on its own connection to consume (at most `prefetch` unacknowledged), XACK per
// message. Streams have no nack: a failed message stays pending and is reclaimed with XAUTOCLAIM
// once idle for RECLAIM_IDLE_MS, as a Redis Streams user would do it.
import { Redis } from 'ioredis';
import type { Subscription, Target, TargetParams } from '../adapters/target.ts';

const STREAM = 'bench';
const GROUP = 'bench';
/** A pending message idle this long is claimed again (XAUTOCLAIM), Redis's redelivery. */
const RECLAIM_IDLE_MS = 1000;
/** Entries per XREADGROUP / XAUTOCLAIM call at most. */
const READ_COUNT = 1000;

type Entry = [Buffer, Buffer[]];

/** ioredis defines `<command>Buffer` for every command at run time; its types omit XAUTOCLAIM's (and its callBuffer drops the command name). */
interface BufferCommands {
  xautoclaimBuffer(...args: (string | number)[]): Promise<unknown>;
}

export async function openRedis(params: TargetParams): Promise<Target> {
  const options = { host: '127.0.0.1', port: params.port!, lazyConnect: false, maxRetriesPerRequest: 1 };
  const commands = new Redis({ ...options, enableAutoPipelining: true });
  await commands.del(STREAM);
  await commands.xgroup('CREATE', STREAM, GROUP, '$', 'MKSTREAM');
  const publishMany = async (values: readonly Uint8Array[]): Promise<void> => {
    const pipeline = commands.pipeline();
    for (const v of values) pipeline.xadd(STREAM, '*', 'v', Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  };
  return {
    confirmMeans: params.appendfsync === 'always' ? 'AOF appendfsync always: fsync before the reply (one per event-loop turn)' : 'AOF appendfsync everysec: page cache, fsync once a second (up to 1 s lost on power failure)',
    publish: async (value) => void (await commands.xadd(STREAM, '*', 'v', Buffer.from(value.buffer, value.byteOffset, value.byteLength))),
    publishMany,
    async consume(prefetch, onDelivery): Promise<Subscription> {
      const reader = new Redis(options);
      let open = true;
      let unsettled = 0;
      // Woken when a settle frees room under `prefetch` (the read loop waits instead of spinning).
      let roomFreed: (() => void) | undefined;
      const settled = (): void => {
        unsettled--;
        roomFreed?.();
        roomFreed = undefined;
      };
      const deliver = (entries: Entry[]): void => {
        for (const [id, fields] of entries) {
          if (!fields) continue; // deleted while pending
          unsettled++;
          const ackId = id.toString();
          onDelivery({
            value: fields[1]!,
            ack: async () => {
              settled();
              // 0: already acknowledged through another copy (a reclaimed redelivery).
              return (await commands.xack(STREAM, GROUP, ackId)) === 1;
            },
            nack: async () => settled(), // stays pending: reclaimed by XAUTOCLAIM when idle
          });
        }
      };
      const readLoop = (async () => {
        while (open) {
          const room = Math.min(READ_COUNT, prefetch - unsettled);
          if (room <= 0) {
            await new Promise<void>((resolve) => {
              roomFreed = resolve;
              setTimeout(resolve, 100); // and look again now and then, in case stop() was called
            });
            continue;
          }
          const reply = (await reader.xreadgroupBuffer('GROUP', GROUP, 'c1', 'COUNT', room, 'BLOCK', 100, 'STREAMS', STREAM, '>')) as [Buffer, Entry[]][] | null;
          if (reply) deliver(reply[0]![1]);
        }
      })();
      const reclaim = setInterval(() => {
        (commands as unknown as BufferCommands).xautoclaimBuffer(STREAM, GROUP, 'c1', RECLAIM_IDLE_MS, '0-0', 'COUNT', READ_COUNT).then(
          (r: unknown) => deliver((r as [Buffer, Entry[]])[1]),
          () => {},
        );
      }, 100);
      return {
        async stop() {
          open = false;
          clearInterval(reclaim);
          await readLoop.catch(() => {});
          reader.disconnect();
        },
      };
    },
    stored: async () => commands.xlen(STREAM),
    unsettled: async () => Number(((await commands.xpending(STREAM, GROUP)) as [number])[0]),
    async close() {
      await commands.del(STREAM);
      commands.disconnect();
    },
  };
}
