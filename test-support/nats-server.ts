// Private nats-server processes for tests: finds the binary (PATH, /usr/sbin, or $NATS_SERVER),
// installs Debian's package when missing and allowed, starts JetStream on 127.0.0.1 on free ports
// with a temporary store, and stops exactly the processes it started, by PID. Runs in the test
// process; never in the published package.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

let found: { path: string } | { why: string } | undefined;

/** The nats-server binary, installing Debian's package once if it is missing; or why there is none. */
export function natsServerBinary(): { path: string } | { why: string } {
  found ??= locate() ?? install() ?? { why: 'nats-server is not installed and `apt-get install -y nats-server` failed (run .ci/run as root, or set NATS_SERVER)' };
  return found;
}

function locate(): { path: string } | undefined {
  const env = process.env.NATS_SERVER;
  if (env && existsSync(env)) return { path: env };
  const onPath = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return { path: onPath.stdout.trim() };
  const known = CANDIDATES.find((p) => existsSync(p));
  return known ? { path: known } : undefined;
}

function install(): { path: string } | undefined {
  if (process.getuid?.() !== 0) return undefined; // apt needs root; .ci/run installs it beforehand
  const apt = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nats-server'], { stdio: 'ignore', timeout: 120_000 });
  return apt.status === 0 ? locate() : undefined;
}

/** A port nobody listens on right now (the kernel picks it; a race with another process is possible but rare). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** One nats-server process started by this module. */
export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  pid(): number | undefined;
  /** Stops the process (SIGTERM, or SIGKILL for a crash) and waits for it to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
}

interface NodeSpec {
  readonly name: string;
  readonly port: number;
  readonly storeDir: string;
  readonly cluster?: { readonly port: number; readonly routes: readonly number[] };
}

const running = new Set<ChildProcess>();
// A test that fails (or a worker that exits) must not leave servers behind: stop what we started.
process.once('exit', () => {
  for (const child of running) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

function args(spec: NodeSpec): string[] {
  const base = ['-js', '-a', '127.0.0.1', '-p', String(spec.port), '-sd', spec.storeDir, '--server_name', spec.name];
  if (!spec.cluster) return base;
  return [...base, '--cluster_name', 'ferry-test', '--cluster', `nats://127.0.0.1:${spec.cluster.port}`, '--routes', spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(',')];
}

/** Starts the process and resolves once it logs that it is ready (or rejects with its output). */
function launch(binary: string, spec: NodeSpec): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args(spec), { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let output = '';
    const timer = setTimeout(() => fail(new Error(`nats-server ${spec.name} was not ready within 15 s:\n${output}`)), 15_000);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      reject(error);
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      if (output.length < 64_000) output += chunk.toString();
      if (output.includes('Server is ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', fail);
    child.once('exit', (code) => {
      running.delete(child);
      fail(new Error(`nats-server ${spec.name} exited with ${String(code)}:\n${output}`));
    });
  });
}

function node(binary: string, spec: NodeSpec, first: ChildProcess): NatsNode {
  let child: ChildProcess | undefined = first;
  return {
    name: spec.name,
    port: spec.port,
    url: `nats://127.0.0.1:${spec.port}`,
    storeDir: spec.storeDir,
    pid: () => child?.pid,
    stop: async (signal = 'SIGTERM') => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.pid === undefined) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, signal);
      await exited;
      running.delete(c);
    },
    restart: async () => {
      if (child) throw new Error(`nats-server ${spec.name} is running; stop it first`);
      child = await launch(binary, spec);
    },
  };
}

/** Private servers for one test file: a single node or a cluster; `cleanup()` stops them and removes their stores. */
export interface NatsSetup {
  readonly nodes: readonly NatsNode[];
  readonly servers: string[];
  cleanup(): Promise<void>;
}

/** Starts `size` nodes (1: a single server; 3: a cluster on loopback), or says why it cannot. */
export async function startNats(size: 1 | 3 = 1): Promise<NatsSetup | { skip: string }> {
  const binary = natsServerBinary();
  if ('why' in binary) return { skip: binary.why };
  const root = mkdtempSync(join(tmpdir(), 'ferry-nats-'));
  const specs: NodeSpec[] = [];
  const clusterPorts = size === 1 ? [] : await Promise.all(Array.from({ length: size }, freePort));
  for (let i = 0; i < size; i++) {
    const cluster = size === 1 ? undefined : { port: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) };
    specs.push({ name: `n${i}`, port: await freePort(), storeDir: join(root, `n${i}`), ...(cluster ? { cluster } : {}) });
  }
  const nodes: NatsNode[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  };
  const started = await Promise.allSettled(specs.map((s) => launch(binary.path, s)));
  started.forEach((r, i) => r.status === 'fulfilled' && nodes.push(node(binary.path, specs[i]!, r.value)));
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await cleanup(); // the nodes that did start are stopped too
    return { skip: `nats-server could not start: ${String((failed.reason as Error).message).split('\n')[0]}` };
  }
  return { nodes, servers: nodes.map((n) => n.url), cleanup };
}
