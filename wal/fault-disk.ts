// The fault-injecting in-memory disk, for tests, the simulator and `ferry/testing`:
// kept out of wal/index.ts, the production entry.
export { MemoryFileSystem } from './seams/memory-file-system.ts';
export type { DiskFaults, DiskStats, MemoryFileSystemOptions } from './seams/memory-file-system.ts';
