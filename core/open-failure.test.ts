// A data directory whose catalog cannot be read (issue 9): Ferry.open fails with a typed error and
// leaves nothing behind (no lock, no open log, no worker threads), so a retry in the same process
// gets the same error, not LOCKED.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, WriteAheadLog, nodeFileSystem, realClock } from '../wal/index.ts';
import { Ferry } from '../index.ts';
import { CATALOG_LOG_OPTIONS } from './catalog.ts';
import type { RuntimeFactory } from './ferry.ts';
import { CorruptStateError } from './state-errors.ts';
import { memoryFerry } from '../test-support/memory-ferry.ts';
import { realFerry, type RealFerry } from '../test-support/real-ferry.ts';
import { workerRuntimeFactory } from '../workers/index.ts';

/** A TOPIC record (type 1) whose payload passes its checksum but is not msgpack (0xc1 is never used). */
async function corruptCatalog(dir: string, fs: Parameters<typeof WriteAheadLog.open>[0]['fs'], clock: Parameters<typeof WriteAheadLog.open>[0]['clock']): Promise<void> {
  const log = await WriteAheadLog.open({ dir: `${dir}/_catalog`, fs, clock, ...CATALOG_LOG_OPTIONS });
  await log.append({ type: 1, recordCount: 1, payload: new Uint8Array([0xc1]), timestamp: 1 });
  await log.close();
}

describe('open with a corrupt catalog', () => {
  let real: RealFerry | undefined;
  afterEach(() => real?.cleanup());

  it('fails with CORRUPT_STATE, and again (not LOCKED) when retried in the same process', async () => {
    const setup = memoryFerry(7);
    const good = await setup.open();
    await good.createTopic('t');
    await good.close();
    await corruptCatalog('/ferry', setup.fs.processView(), setup.clock);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await setup.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptStateError);
      expect(error).toMatchObject({ code: 'CORRUPT_STATE', details: { what: 'catalog' } });
    }
  });

  it('refuses record cache and checkpoint part limits that cannot work, with typed errors, and takes nothing', async () => {
    const setup = memoryFerry(8);
    for (const limits of [{ recordCacheBytes: -1 }, { recordCacheBytes: 1.5 }, { checkpointPartBytes: 0 }, { checkpointPartBytes: 64 * 1024 * 1024 }]) {
      await expect(setup.open({ limits })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    const ferry = await setup.open({ limits: { recordCacheBytes: 0, checkpointPartBytes: 64 } });
    await ferry.close();
  });

  it('with threads: 2, starts no worker thread it leaves running', async () => {
    real = realFerry(2);
    await corruptCatalog(real.dir, nodeFileSystem, realClock);
    const runtimes: { closed: boolean }[] = [];
    const factory: RuntimeFactory = (o) => {
      const runtime = workerRuntimeFactory()(o);
      const seen = { closed: false };
      runtimes.push(seen);
      const close = runtime.close.bind(runtime);
      runtime.close = () => close().then(() => void (seen.closed = true));
      return runtime;
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await Ferry.open({ dir: real.dir, threads: 2 }, factory).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptStateError);
    }
    expect(runtimes.filter((r) => !r.closed)).toEqual([]);
  });

  it('refuses a dir that is a file with INVALID_ARGUMENT saying what to give (was a raw EEXIST)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ferry-file-')), 'data');
    writeFileSync(file, 'not a directory');
    await expect(Ferry.open({ dir: file })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/give the path of a directory/) });
    rmSync(dirname(file), { recursive: true, force: true });
  });
});
