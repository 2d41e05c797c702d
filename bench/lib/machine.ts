// The machine a run happened on, attached to every JSON row: figures mean little without it.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

/** Where and on what a benchmark ran. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memBytes: number;
  readonly node: string;
  readonly platform: string;
  /** The directory benchmarks write to and the filesystem/device under it (df), when known. */
  readonly disk: string;
  /** 1, 5 and 15 minute load averages when the run started: a loaded machine measures low. */
  readonly loadAvg: readonly number[];
  readonly commit: string;
  readonly date: string;
}

function quiet(cmd: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

/** Describes this machine; `dataDir` is where the run writes (its disk is part of what is measured). */
export function describeMachine(dataDir: string): Machine {
  const df = quiet('df', ['-PT', dataDir])?.split('\n')[1]?.split(/\s+/);
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    disk: df ? `${dataDir} on ${df[0]} (${df[1]})` : dataDir,
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    commit: quiet('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    date: new Date().toISOString(),
  };
}
