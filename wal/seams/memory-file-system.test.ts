import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from './memory-file-system.ts';
import { SeededRandom } from './random.ts';

function disk(seed = 1) {
  const fs = new MemoryFileSystem({ random: new SeededRandom(seed) });
  fs.mkdirp('/d');
  return fs;
}

function readAll(fs: MemoryFileSystem, path: string): Uint8Array {
  const h = fs.open(path, 'read');
  const bytes = new Uint8Array(h.size());
  h.read(bytes, 0, bytes.length, 0);
  h.close();
  return bytes;
}

describe('in-memory fault disk', () => {
  it('keeps the page cache across a process crash, and invalidates old handles and locks', async () => {
    const fs = disk();
    const h = fs.open('/d/a', 'create');
    fs.lock('/d/LOCK');
    h.writev([new Uint8Array([1, 2, 3])], 0);
    fs.crash('process');
    expect(() => h.writev([new Uint8Array([9])], 3)).toThrow(/crashed process/);
    expect([...readAll(fs, '/d/a')]).toEqual([1, 2, 3]);
    expect(() => fs.lock('/d/LOCK')).not.toThrow();
  });

  it('loses unsynced data and unsynced directory entries on power loss', async () => {
    const fs = disk();
    const synced = fs.open('/d/synced', 'create');
    synced.writev([new Uint8Array(100).fill(7)], 0);
    await synced.sync();
    await fs.syncDir('/d');
    fs.open('/d/unnamed', 'create').writev([new Uint8Array([1])], 0); // entry never synced
    synced.writev([new Uint8Array(5000).fill(8)], 100); // data never synced
    fs.crash('power');
    expect(fs.exists('/d/unnamed')).toBe(false);
    const bytes = readAll(fs, '/d/synced');
    expect(bytes.subarray(0, 100).every((b) => b === 7)).toBe(true); // synced bytes always survive
  });

  it('undoes an unsynced removal of a directory tree on power loss; a sync of its parent makes it durable (issue 12)', async () => {
    const fs = disk();
    fs.mkdirp('/d/t/0');
    fs.open('/d/t/0/seg', 'create').writev([new Uint8Array([1])], 0);
    await fs.syncDir('/d/t/0');
    await fs.syncDir('/d');
    fs.removeTree('/d/t');
    fs.crash('power');
    expect(fs.exists('/d/t/0/seg')).toBe(true); // the removal was never synced
    fs.removeTree('/d/t');
    await fs.syncDir('/d'); // rmdir, then fsync of the parent: the tree is gone for good
    fs.crash('power');
    expect(fs.exists('/d/t/0/seg')).toBe(false);
  });

  it('tears unsynced pages: across seeds, power loss yields old, new and mixed outcomes', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const fs = disk(seed);
      const h = fs.open('/d/f', 'create');
      h.writev([new Uint8Array(8192).fill(1)], 0);
      await h.sync();
      await fs.syncDir('/d');
      h.writev([new Uint8Array(8192).fill(2)], 0);
      fs.crash('power');
      const bytes = readAll(fs, '/d/f');
      const kinds = new Set(bytes);
      outcomes.add(kinds.size === 1 ? `all ${[...kinds][0]}` : 'mixed');
    }
    expect(outcomes).toEqual(new Set(['all 1', 'all 2', 'mixed']));
  });

  it('drops the error state of pages after a failed fsync, as Linux does (fsyncgate)', async () => {
    const fs = disk();
    const h = fs.open('/d/f', 'create');
    await fs.syncDir('/d');
    h.writev([new Uint8Array(10).fill(5)], 0);
    fs.failNextSyncs(1);
    await expect(h.sync()).rejects.toMatchObject({ code: 'EIO' });
    await h.sync(); // "succeeds", but wrote nothing: the pages were marked clean
    fs.crash('power');
    expect(readAll(fs, '/d/f').includes(5)).toBe(false); // the data never reached the disk
  });

  it('fails writes past capacity with ENOSPC after writing what fits', () => {
    const fs = new MemoryFileSystem({ random: new SeededRandom(1), faults: { capacityBytes: 10 } });
    fs.mkdirp('/d');
    const h = fs.open('/d/f', 'create');
    expect(h.writev([new Uint8Array(8)], 0)).toBe(8);
    expect(h.writev([new Uint8Array(8)], 8)).toBe(2);
    expect(() => h.writev([new Uint8Array(8)], 10)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
  });

  it('replays exactly from its seed', async () => {
    const run = async (seed: number) => {
      const fs = disk(seed);
      const h = fs.open('/d/f', 'create');
      await fs.syncDir('/d');
      for (let i = 0; i < 20; i++) h.writev([new Uint8Array(700).fill(i)], i * 700);
      fs.crash('power');
      return Buffer.from(readAll(fs, '/d/f')).toString('hex');
    };
    expect(await run(42)).toBe(await run(42));
    expect(await run(42)).not.toBe(await run(43));
  });

  it('gives each process a view that can do nothing once the machine crashed', async () => {
    const fs = disk();
    const view = fs.processView();
    view.open('/d/a', 'create').close();
    fs.crash('process');
    expect(() => view.open('/d/b', 'create')).toThrow(/crashed process/);
    expect(() => view.remove('/d/a')).toThrow(/crashed process/);
    await expect(view.syncDir('/d')).rejects.toThrow(/crashed process/);
    expect(fs.exists('/d/b')).toBe(false);
    fs.processView().open('/d/b', 'create').close(); // a new process can
    expect(fs.exists('/d/b')).toBe(true);
  });

  it('on power loss, turns unsynced writes over synced zeros into zeros or the new bytes, sector by sector, never garbage, at the same size (issue 11)', async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const fs = disk(seed);
      const h = fs.open('/d/a', 'create');
      h.writev([new Uint8Array(16384)], 0); // the zeros a log writes ahead, synced
      await h.sync();
      await fs.syncDir('/d');
      h.writev([new Uint8Array(6000).fill(0x5a)], 1000); // appended into them, never synced
      fs.crash('power');
      const bytes = readAll(fs, '/d/a');
      expect(bytes.length).toBe(16384);
      for (let sector = 0; sector < bytes.length; sector += 512) {
        const part = bytes.subarray(sector, sector + 512);
        const kinds = new Set([...part].map((b, i) => (b === 0 ? 'zero' : b === 0x5a && sector + i >= 1000 && sector + i < 7000 ? 'new' : 'garbage')));
        expect(kinds.has('garbage')).toBe(false);
        if (kinds.size === 1) seen.add([...kinds][0]!);
      }
    }
    expect([...seen].sort()).toEqual(['new', 'zero']); // both outcomes happen
  });

  it('on a full disk, lets a write within the file go on (ext4), or refuses it too when copyOnWrite is set (btrfs, ZFS)', () => {
    const fs = disk();
    const h = fs.open('/d/a', 'create');
    h.writev([new Uint8Array(8192)], 0);
    fs.faults.capacityBytes = 8192; // full
    expect(() => h.writev([new Uint8Array([1])], 8192)).toThrow(/ENOSPC/); // growing needs space
    expect(h.writev([new Uint8Array(100).fill(1)], 0)).toBe(100); // overwriting in place does not
    fs.faults.copyOnWrite = true;
    expect(() => h.writev([new Uint8Array(100).fill(2)], 0)).toThrow(/ENOSPC/);
    fs.faults.capacityBytes = 8192 + 50;
    expect(h.writev([new Uint8Array(100).fill(2)], 0)).toBe(50); // as much as there is room for
  });
});
