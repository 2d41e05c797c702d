// `npm start`: Ferry's main job on a local data directory (./.data/demo), no servers.
//  1. A child process publishes orders and is killed with SIGKILL mid-stream.
//  2. The engine reopens the directory; group "billing" consumes with failures: some orders fail
//     once and are retried after a backoff, order 13 always fails and is dead-lettered.
//     It shows what it saw: alert events (deadLettered, maxDeliveriesReached) and a metrics summary.
//  3. The engine restarts again: nothing acknowledged comes back, and every order the child had
//     seen confirmed was billed exactly once or dead-lettered. The dead-letter topic is read
//     without a group, and the poison order's history is told from the log.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Ferry, type FerryEventMap } from '../index.ts';
import { nodeFileSystem, realClock } from '../wal/index.ts';

const dir = resolve(process.env.FERRY_DEMO_DIR ?? '.data/demo');
/** Waits on the real clock, keeping the process alive meanwhile. */
const sleep = (ms: number) => new Promise<void>((r) => realClock.setTimer(ms, r, { keepAlive: true }));
const KILL_AFTER = 20_000;

/** Child: publish orders until killed, printing the highest order id confirmed so far. */
async function publisher(): Promise<void> {
  const ferry = await Ferry.open({ dir });
  await ferry.createTopic('orders', { partitions: 4, maxDeliveries: 3, backoff: { kind: 'fixed', delayMs: 50 }, ackTimeoutMs: 5000 });
  const producer = ferry.producer({ id: 'checkout' });
  for (let next = 0; ; next += 100) {
    const batch = Array.from({ length: 100 }, (_, i) => ({ value: { order: next + i, amount: ((next + i) % 97) + 1 }, key: `customer-${(next + i) % 31}` }));
    await producer.publishMany('orders', batch);
    process.stdout.write(`${next + 99}\n`);
  }
}

async function main(): Promise<void> {
  nodeFileSystem.removeTree(dir); // start from an empty directory
  console.log(`Ferry demo in ${dir}\n`);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--publisher'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FERRY_DEMO_DIR: dir } });
  let confirmed = -1;
  const started = realClock.now();
  for await (const line of createInterface({ input: child.stdout! })) {
    confirmed = Number(line);
    if (confirmed + 1 >= KILL_AFTER) break;
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  console.log(`1. publisher confirmed orders 0..${confirmed} in ${realClock.now() - started} ms, then was killed with SIGKILL`);

  let ferry = await Ferry.open({ dir, alerts: { pollMs: 100 } });
  const events: string[] = [];
  const deadLettered: FerryEventMap['deadLettered'][] = [];
  ferry.on('deadLettered', (e) => {
    deadLettered.push(e);
    events.push(`deadLettered ${e.topic}[${e.partition}]@${e.offset} group ${e.group} after ${e.attempts} attempts -> ${e.deadLetterTopic}`);
  });
  ferry.on('maxDeliveriesReached', (e) => events.push(`maxDeliveriesReached ${e.topic}[${e.partition}]@${e.offset} group ${e.group}: "${e.lastError?.split('\n')[0]}"`));
  const billed = new Map<number, number>();
  let retries = 0;
  const consumer = ferry.consumer<{ order: number; amount: number }>('billing', { topics: ['orders'], maxInFlight: 256 });
  const done = consumer.run(
    async (d) => {
      if (d.attempt > 1) retries++;
      const { order } = d.value;
      if (order === 13) throw new Error('card declined');
      if (order % 500 === 7 && d.attempt === 1) throw new Error('payment service timeout');
      billed.set(order, (billed.get(order) ?? 0) + 1);
    },
    { concurrency: 16 },
  );
  const deadline = realClock.now() + 60_000; // a lost order would otherwise make this wait forever
  const settled = () => [...Array(confirmed + 1).keys()].every((o) => o === 13 || billed.has(o));
  while (!settled() && realClock.now() < deadline) await sleep(20);
  await sleep(300); // let the dead letter land
  await consumer.close();
  await done;
  console.log(`2. recovered and billed ${billed.size} orders (${retries} deliveries were retries after a failure)`);
  await ferry.pollEvents();
  console.log(`   alert events: ${events.map((e) => `\n     ${e}`).join('')}`);
  const m = await ferry.metrics();
  const g = m.groups.find((x) => x.group === 'billing' && x.topic === 'orders')!;
  const p99 = (h: typeof m.engine.handler) => {
    let seen = 0;
    const i = h.counts.findIndex((c) => (seen += c) >= h.count * 0.99);
    return i < h.boundsSeconds.length ? `<= ${h.boundsSeconds[i]! * 1000} ms` : 'over the last bucket';
  };
  console.log(`   metrics (this open): billing delivered ${g.delivered}, acked ${g.acked}, nacked ${g.nacked}, dead-lettered ${g.deadLettered}, lag ${g.lag}, in flight ${g.inFlight}; handler p99 ${p99(m.engine.handler)}, fsync p99 ${p99(m.engine.fsync)}`);
  await ferry.close();

  ferry = await Ferry.open({ dir });
  const again = ferry.consumer('billing', { topics: ['orders'] });
  const late = await Promise.race([again.next(), sleep(300).then(() => undefined)]);
  const [stored] = await ferry.read('orders.dlq'); // without a group: nothing is leased or acked
  const history = stored?.deadLetter ? await ferry.inspect('orders', stored.deadLetter.partition, stored.deadLetter.offset) : undefined;
  const dlq = ferry.consumer('ops', { topics: ['orders.dlq'] });
  const letter = await dlq.next();
  await letter?.ack();
  await ferry.close();

  const missing = [...Array(confirmed + 1).keys()].filter((o) => o !== 13 && !billed.has(o));
  const twice = [...billed].filter(([, n]) => n > 1).length;
  const beyond = [...billed.keys()].filter((o) => o > confirmed).length;
  console.log(`3. after a restart: ${late ? `UNEXPECTED redelivery of offset ${late.offset}` : 'no acknowledged order came back'}`);
  console.log(`   dead letter: order ${JSON.stringify((letter?.value as { order?: number })?.order)} from ${letter?.deadLetter?.topic}[${letter?.deadLetter?.partition}]@${letter?.deadLetter?.offset}, ` + `${letter?.deadLetter?.attempts} attempts, last error "${letter?.deadLetter?.lastError?.split('\n')[0]}" (the stack follows it)`);
  const steps = (history?.steps ?? []).map((st) => `\n     ${new Date(st.at).toISOString()} ${st.group} ${st.kind}${'attempts' in st ? ` (attempt ${st.attempts})` : ''}${'error' in st && st.error ? `: ${st.error.split('\n')[0]}` : ''}`);
  console.log(`   orders.dlq read without a group: ${stored ? `order ${JSON.stringify((stored.value as { order?: number }).order)} at offset ${stored.offset}` : 'EMPTY'}; its history in orders:${steps.join('')}`);
  const seenEvent = deadLettered.some((e) => e.topic === 'orders' && e.offset === stored?.deadLetter?.offset && e.partition === stored?.deadLetter?.partition);
  const ok = missing.length === 0 && !late && letter?.deadLetter?.attempts === 3 && seenEvent && history?.steps.some((st) => st.kind === 'deadLettered') === true && g.lag === 0;
  console.log(`\n${ok ? 'nothing confirmed was lost' : 'PROBLEM'}: ${missing.length} confirmed orders missing, ${twice} billed twice, ${beyond} beyond the last confirmed (written, not yet confirmed at the kill: delivered too)`);
  if (!ok) process.exitCode = 1;
}

if (process.argv.includes('--publisher')) await publisher();
else await main();
