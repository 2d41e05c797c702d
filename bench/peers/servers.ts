// Private peer servers for `npm run bench:peers`, on the runner's thread: each started on
// 127.0.0.1 on a free port with its data in a temporary directory, and stopped by the PID we
// started (never by name). A server that is missing or does not come up is reported as skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a server may take to accept connections (RabbitMQ boots an Erlang VM). */
const START_TIMEOUT_MS = 60_000;

export type PeerName = 'redis-always' | 'redis-everysec' | 'rabbitmq' | 'nats';
export const PEERS: readonly PeerName[] = ['redis-always', 'redis-everysec', 'rabbitmq', 'nats'];

export interface RunningPeer {
  readonly name: PeerName;
  readonly port: number;
}

export interface PeerFleet {
  readonly running: readonly RunningPeer[];
  /** Peers that could not be started, with the reason. */
  readonly skipped: ReadonlyMap<PeerName, string>;
  /** Stops every process started here (by PID) and removes the data directories. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel; released before the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode}): ${log().trim().split('\n').slice(-2).join(' | ')}`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not accepting on port ${port} after ${START_TIMEOUT_MS} ms`);
}

function which(candidates: readonly string[]): string | undefined {
  return candidates.find((c) => existsSync(c));
}

interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Port to wait for. */
  readonly port: number;
  /** Helpers to start first (RabbitMQ's epmd), stopped with it. */
  readonly before?: readonly Omit<Launch, 'before'>[];
}

async function launch(name: PeerName, dir: string): Promise<Launch> {
  const port = await freePort();
  switch (name) {
    case 'redis-always':
    case 'redis-everysec': {
      const bin = which(['/usr/bin/redis-server', '/usr/local/bin/redis-server']);
      if (!bin) throw new Error('redis-server not installed (bench/peers/install.sh installs it)');
      const appendfsync = name === 'redis-always' ? 'always' : 'everysec';
      return { command: bin, args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', appendfsync, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'], port };
    }
    case 'nats': {
      const bin = which(['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']);
      if (!bin) throw new Error('nats-server not installed (bench/peers/install.sh installs it)');
      return { command: bin, args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], port };
    }
    case 'rabbitmq': {
      const bin = which(['/usr/lib/rabbitmq/bin/rabbitmq-server']);
      const epmd = which(['/usr/bin/epmd', '/usr/lib/erlang/bin/epmd']);
      if (!bin || !epmd) throw new Error('rabbitmq-server not installed (bench/peers/install.sh installs it)');
      const epmdPort = await freePort();
      const distPort = await freePort();
      const plugins = join(dir, 'enabled_plugins');
      writeFileSync(plugins, '[].\n');
      const env = {
        ...process.env,
        HOME: dir, // the Erlang cookie goes here, not in the user's home
        ERL_EPMD_PORT: String(epmdPort),
        ERL_EPMD_ADDRESS: '127.0.0.1',
        RABBITMQ_NODENAME: `bench${port}@localhost`,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
      };
      writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users = none\n');
      // epmd started here in the foreground (no -daemon), so its PID is ours to stop.
      return { command: bin, args: [], env, port, before: [{ command: epmd, args: ['-port', String(epmdPort), '-address', '127.0.0.1'], env, port: epmdPort }] };
    }
  }
}

/** Starts the named peers; never throws for a peer that cannot start (it is listed as skipped). */
export async function startPeers(names: readonly PeerName[], root = tmpdir()): Promise<PeerFleet> {
  const base = mkdtempSync(join(root, 'ferry-bench-peers-'));
  const children: ChildProcess[] = [];
  const running: RunningPeer[] = [];
  const skipped = new Map<PeerName, string>();
  const start = async (l: Omit<Launch, 'before'>): Promise<void> => {
    let log = '';
    const child = spawn(l.command, [...l.args], { env: l.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-2000)));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-2000)));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    await waitForPort(l.port, child, () => log);
  };
  await Promise.all(
    names.map(async (name) => {
      const dir = join(base, name);
      mkdirSync(dir, { recursive: true });
      try {
        const l = await launch(name, dir);
        for (const helper of l.before ?? []) await start(helper);
        await start(l);
        running.push({ name, port: l.port });
      } catch (error) {
        skipped.set(name, `${name} could not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
  return {
    running: PEERS.flatMap((p) => running.filter((r) => r.name === p)),
    skipped,
    async stop() {
      // Servers before their helpers (reverse start order); SIGTERM, then SIGKILL after 10 s.
      for (const child of [...children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
