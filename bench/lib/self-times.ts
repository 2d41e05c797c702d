// Self time per function and per file from a V8 CPU profile (the inspector's Profiler.stop): what
// `npm run bench:profile` prints. Sample counts, not wall time: a thread the OS did not run is not sampled.

/** The parts of a V8 CPU profile read here. */
export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly hitCount?: number; readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number } }[];
}

export interface SelfTimes {
  /** Shares of all samples, highest first. */
  readonly functions: readonly { readonly name: string; readonly share: number }[];
  readonly files: readonly { readonly name: string; readonly share: number }[];
  readonly gc: number;
  readonly idle: number;
}

/** The last two parts of a script's URL (`core/consumer.js`), or the frame's own name for native code. */
function shortFile(url: string, functionName: string): string {
  if (url) return url.split('/').slice(-2).join('/');
  return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`;
}

function ranked(totals: Map<string, number>, all: number): { name: string; share: number }[] {
  return [...totals].map(([name, hits]) => ({ name, share: hits / all })).sort((a, b) => b.share - a.share);
}

/** Adds up the samples of each function (by name, file and line) and of each file. */
export function selfTimes(profile: CpuProfile): SelfTimes {
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let all = 0;
  for (const { hitCount = 0, callFrame: f } of profile.nodes) {
    if (hitCount === 0) continue;
    all += hitCount;
    const file = shortFile(f.url, f.functionName);
    const name = f.url ? `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}` : f.functionName || '(native)';
    functions.set(name, (functions.get(name) ?? 0) + hitCount);
    files.set(file, (files.get(file) ?? 0) + hitCount);
  }
  const total = Math.max(1, all);
  return { functions: ranked(functions, total), files: ranked(files, total), gc: (functions.get('(garbage collector)') ?? 0) / total, idle: (functions.get('(idle)') ?? 0) / total };
}
