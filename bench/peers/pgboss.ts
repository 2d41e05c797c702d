// pg-boss on PGlite as a benchmark target: the embedded peer a Node.js user would pick for an
// in-process durable queue (Postgres compiled to WebAssembly, data directory on local disk). A
// fetch loop (pg-boss fetch, at most `prefetch` unsettled, polled every POLL_MS when empty),
// complete to ack, fail to nack (retryLimit 1, retryDelay 0: back at once). No server to start.
import { PGlite } from '@electric-sql/pglite';
import PgBoss from 'pg-boss';
import type { Subscription, Target, TargetParams } from '../adapters/target.ts';

const QUEUE = 'bench';
/** How long the fetch loop waits before asking again when nothing was there. */
const POLL_MS = 20;
/** Jobs per fetch at most. */
const FETCH_BATCH = 100;

type Data = { v: string };

export async function openPgBoss(params: TargetParams): Promise<Target> {
  const pg = await PGlite.create(params.dir);
  // PGlite is one connection: pg-boss's statements are queued on it. A call without values may
  // hold several statements (pg-boss's migrations), which only exec() runs.
  const db = {
    async executeSql(text: string, values: unknown[] = []): Promise<{ rows: unknown[] }> {
      if (values.length > 0) return { rows: (await pg.query(text, values)).rows };
      const results = await pg.exec(text);
      return { rows: results[results.length - 1]?.rows ?? [] };
    },
  };
  const boss = new PgBoss({ db, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => {}); // surfaced as unsettled messages by the workload's check
  await boss.start();
  await boss.createQueue(QUEUE);
  const options = { retryLimit: 1, retryDelay: 0 };
  const data = (value: Uint8Array): Data => ({ v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') });
  return {
    confirmMeans: 'job row committed in PGlite (Postgres in WebAssembly, in process; data directory on local disk)',
    publish: async (value) => void (await boss.send(QUEUE, data(value), options)),
    publishMany: (values) => boss.insert(values.map((v) => ({ name: QUEUE, data: data(v), ...options }))),
    async consume(prefetch, onDelivery): Promise<Subscription> {
      let open = true;
      let unsettled = 0;
      const loop = (async () => {
        while (open) {
          const room = Math.min(FETCH_BATCH, prefetch - unsettled);
          const jobs = room > 0 ? await boss.fetch<Data>(QUEUE, { batchSize: room }) : [];
          if (jobs.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
            continue;
          }
          for (const job of jobs) {
            unsettled++;
            onDelivery({
              value: Buffer.from(job.data.v, 'base64'),
              ack: async () => {
                unsettled--;
                await boss.complete(QUEUE, job.id);
              },
              nack: async () => {
                unsettled--;
                await boss.fail(QUEUE, job.id);
              },
            });
          }
        }
      })();
      return {
        async stop() {
          open = false;
          await loop.catch(() => {});
        },
      };
    },
    stored: () => boss.getQueueSize(QUEUE),
    unsettled: () => boss.getQueueSize(QUEUE, { before: 'completed' }),
    async close() {
      await boss.stop({ graceful: false, wait: true }).catch(() => {});
      await pg.close();
    },
  };
}
