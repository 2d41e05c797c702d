// A bounded timed loop for the limit cells: runs `step` (which does `unitsPerStep` units of work)
// for a warm-up that is discarded, then for `ms`, and returns the units per second.
import { hrtime } from 'node:process';

/** Steps between clock reads, so reading the clock does not weigh on sub-microsecond steps. */
const CHECK_EVERY = 16;
/** At most this many steps per phase, so a step much faster than expected still ends. */
const MAX_STEPS = 50_000_000;

async function phase(ms: number, step: () => void | Promise<void>): Promise<{ steps: number; seconds: number }> {
  const start = hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let steps = 0;
  for (;;) {
    for (let i = 0; i < CHECK_EVERY; i++) await step();
    steps += CHECK_EVERY;
    const now = hrtime.bigint();
    if (now >= until || steps >= MAX_STEPS) return { steps, seconds: Number(now - start) / 1e9 };
  }
}

/** Units of work per second of `step`, measured for `ms` after a discarded warm-up of `ms / 4`. */
export async function ratePerSecond(ms: number, unitsPerStep: number, step: () => void | Promise<void>): Promise<number> {
  await phase(ms / 4, step);
  const { steps, seconds } = await phase(ms, step);
  return (steps * unitsPerStep) / seconds;
}
