import { describe, expect, it } from 'vitest';
import { selfTimes } from './self-times.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('self times of a CPU profile', () => {
  it('adds samples up per function and per file, and reports GC and idle shares', () => {
    const times = selfTimes({
      nodes: [
        { id: 1, hitCount: 0, callFrame: frame('(root)') },
        { id: 2, hitCount: 4, callFrame: frame('#deliver', 'file:///x/dist/core/partition-deliveries.js', 41) },
        { id: 3, hitCount: 2, callFrame: frame('#deliver', 'file:///x/dist/core/partition-deliveries.js', 41) },
        { id: 4, hitCount: 2, callFrame: frame('#scan', 'file:///x/dist/core/partition-deliveries.js', 99) },
        { id: 5, hitCount: 1, callFrame: frame('(garbage collector)') },
        { id: 6, hitCount: 1, callFrame: frame('(idle)') },
      ],
    });
    expect(times.functions[0]).toEqual({ name: '#deliver core/partition-deliveries.js:42', share: 0.6 });
    expect(times.files[0]).toEqual({ name: 'core/partition-deliveries.js', share: 0.8 });
    expect(times.gc).toBeCloseTo(0.1);
    expect(times.idle).toBeCloseTo(0.1);
    expect(times.files.map((f) => f.name)).toContain('(idle)');
  });

  it('answers an empty profile with nothing, not a division by zero', () => {
    expect(selfTimes({ nodes: [] })).toEqual({ functions: [], files: [], gc: 0, idle: 0 });
  });
});
