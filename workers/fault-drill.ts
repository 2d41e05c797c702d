// Runs on a shard's worker thread: fault drills that kill the worker on purpose, each the way a
// real worker dies, so tests and operators can exercise supervision. Nothing here ever returns.
import type { FaultDrill } from './protocol.ts';

/** What the `oom` drill retains: module-level, so no collection can free it. */
const hoard: object[][] = [];

/** Kills this worker thread as `how` says. Each runs from a timer, outside the request, so the
 * death is the thread's (not a rejected task's) and the reply never comes. */
export function runFaultDrill(how: FaultDrill, exitCode = 1): Promise<never> {
  setTimeout(() => {
    if (how === 'exit') process.exit(exitCode); // in a worker, this ends the thread only
    if (how === 'throw') throw new Error('fault drill: an uncaught exception on the shard worker');
    if (how === 'hang') for (;;); // a busy loop: the thread is alive but answers nothing
    // Small objects, many of them: the heap limit is reached in well under a second at tens of MB.
    // About a megabyte per turn, not one loop that never yields: Node ends a worker near its heap
    // limit (with 16 MB of grace), and a loop that never yielded once outran that and reached the
    // hard limit, which ends the whole process (seen once on Node 24 in CI).
    const grow = (): void => {
      for (let k = 0; k < 32; k++) hoard.push(Array.from({ length: 1024 }, (_, i) => ({ i })));
      setImmediate(grow);
    };
    grow();
  }, 0);
  return new Promise<never>(() => {});
}
