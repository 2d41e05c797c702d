// The conformance suite (test-support/conformance-suite.ts) on the embedded engine: in-thread
// partitions on a temp directory with the real clock; a restart closes and reopens the directory.
import { afterAll } from 'vitest';
import { CONFORMANCE_ALERTS, describeConformance, type FerryApi } from '../test-support/conformance-suite.ts';
import { realFerry } from '../test-support/real-ferry.ts';
import type { Ferry } from '../index.ts';

const disk = realFerry(0);
let current: Promise<Ferry> | undefined;

describeConformance(
  'embedded',
  {
    open: () => (current ??= disk.open({ alerts: CONFORMANCE_ALERTS })),
    restart: async (ferry) => {
      await ferry.close();
      current = disk.open({ alerts: CONFORMANCE_ALERTS });
      return current;
    },
    cleanup: async () => {
      await (await current)?.close();
      disk.cleanup();
    },
  } satisfies { open(): Promise<FerryApi>; restart(f: FerryApi): Promise<FerryApi>; cleanup(): Promise<void> },
  { delays: true, acksSurviveCrash: true, storageEvents: true },
);

afterAll(async () => {
  await (await current)?.close();
  disk.cleanup();
});
