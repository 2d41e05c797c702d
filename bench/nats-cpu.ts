// `npx tsx bench/nats-cpu.ts [n] [rounds]`: where the NATS backend spends its CPU per message
// against raw JetStream doing the same work (issue 15's overhead question, answered in CPU rather
// than wall-clock rates, which a loaded machine distorts). One private nats-server; in this one
// process, rounds alternate raw and backend through the benchmark's own adapters
// (bench/peers/nats.ts, bench/adapters/ferry.ts) over W1's publish (publishMany x100, 1000
// unconfirmed), W2's consume + ack each (prefetch 1000) and W4's drain of a fresh backlog where
// every tenth message fails its first attempt (nack, no delay; the backlog's publish untimed). Prints CPU µs per message of this
// process and of the nats-server (its /proc utime + stime), and the median per target over the
// rounds. 'raw-nat' is raw JetStream with the client's noAsyncTraces, which the backend sets;
// 'raw-ackack' also waits for the server's answer to each ack (the client's ackAck()), as Ferry's
// ack() does (the benchmark's raw row sends acks unanswered). Set FERRY_BENCH_ENTRY to a build of the
// package to measure what users run; FERRY_CPU_PROFILE=<dir> writes a .cpuprofile per phase.
import { readFileSync, mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFerry } from './adapters/ferry.ts';
import type { Target } from './adapters/target.ts';
import { openNats } from './peers/nats.ts';
import { drain, type Settle } from './workloads/drain.ts';
import { publishWindowed } from './workloads/w1-publish.ts';
import { ISSUE_11_SHAPE } from './workloads/shape.ts';
import { FAIL_EVERY } from './workloads/w4-redelivery.ts';
import { startNats } from '../test-support/nats-server.ts';

const n = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 2);
const shape = { ...ISSUE_11_SHAPE, n, warmup: 0 };
const profileDir = process.env['FERRY_CPU_PROFILE'];
const TICK_US = 1e6 / 100; // USER_HZ

interface Figures {
  /** CPU µs per message of this process, of the nats-server, and wall µs per message. */
  readonly self: number;
  readonly server: number;
  readonly wall: number;
}

/** One round of one target: each phase's figures. */
interface Round {
  readonly w1: Figures;
  readonly w2: Figures;
  readonly w4: Figures;
}

const row = (r: Round): string => `W1 publish ${cell(r.w1)}   W2 consume+ack ${cell(r.w2)}   W4 10% nacked once ${cell(r.w4)}`;

const cell = (m: Figures): string => `${m.self.toFixed(1).padStart(6)} | ${m.server.toFixed(1).padStart(5)}  wall ${m.wall.toFixed(1).padStart(5)}`;

/** CPU µs the server process used so far (utime + stime from /proc). */
function serverCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** `work` resolves with its own timed seconds (a drain's first to last ack), or undefined to time all of it. */
async function measure(label: string, serverPid: number, session: Session, work: () => Promise<number | void>): Promise<Figures> {
  if (profileDir) await session.post('Profiler.start');
  const server0 = serverCpuUs(serverPid);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const timed = await work();
  const wall = typeof timed === 'number' ? timed * 1000 : performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const server = serverCpuUs(serverPid) - server0;
  if (profileDir) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(profileDir, { recursive: true });
    writeFileSync(join(profileDir, `${label}.cpuprofile`), JSON.stringify(profile));
  }
  return { self: (cpu.user + cpu.system) / n, server: server / n, wall: (wall * 1000) / n };
}

async function main(): Promise<void> {
  const setup = await startNats(1);
  if ('skip' in setup) {
    console.log(`SKIPPED: ${setup.skip}`);
    return;
  }
  const port = setup.nodes[0]!.port;
  const pid = setup.nodes[0]!.pid()!;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-nats-cpu-'));
  try {
    console.log(`n=${n} per phase; CPU µs per message (this process | nats-server), and wall µs per message (W1: the publishes; W2, W4: first to last ack, as the benchmark times it; indicative only on a loaded machine)`);
    const runs = new Map<string, Round[]>();
    for (let round = 1; round <= rounds; round++) {
      const targets = [
        ['raw', () => openNats({ target: 'nats', port, dir })],
        ['raw-nat', () => openNats({ target: 'nats', port, dir }, { noAsyncTraces: true })],
        ['raw-ackack', () => openNats({ target: 'nats', port, dir }, { noAsyncTraces: true, ackConfirmed: true })],
        ['backend', () => openFerry({ target: 'ferry-nats', port, dir })],
      ] as const;
      for (const [name, open] of targets) {
        const target: Target = await open();
        const w1 = await measure(`${name}-w1-r${round}`, pid, session, () => publishWindowed(target, 'many', shape, 0, n));
        const drained = async (settle: Settle): Promise<number> => {
          const result = await drain(target, n, 0, shape.prefetch, settle);
          if (result.timedOut) throw new Error(`${name}: the drain timed out`);
          return result.seconds;
        };
        const w2 = await measure(`${name}-w2-r${round}`, pid, session, () => drained(() => 'ack'));
        await publishWindowed(target, 'many', shape, 0, n);
        const w4 = await measure(`${name}-w4-r${round}`, pid, session, () => drained((seq, attempt) => (seq % FAIL_EVERY === 0 && attempt === 1 ? 'nack' : 'ack')));
        await target.close();
        runs.set(name, [...(runs.get(name) ?? []), { w1, w2, w4 }]);
        console.log(`round ${round} ${name.padEnd(10)} ${row({ w1, w2, w4 })}`);
      }
    }
    for (const [name, all] of runs) {
      const mid = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
      const median = (phase: keyof Round): Figures => ({ self: mid(all.map((r) => r[phase].self)), server: mid(all.map((r) => r[phase].server)), wall: mid(all.map((r) => r[phase].wall)) });
      console.log(`median   ${name.padEnd(10)} ${row({ w1: median('w1'), w2: median('w2'), w4: median('w4') })}`);
    }
  } finally {
    session.disconnect();
    await setup.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
