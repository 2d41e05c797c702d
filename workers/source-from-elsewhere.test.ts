// Running Ferry from source with worker threads, from a program whose working directory is
// elsewhere (issue 9 §3): the workers' TypeScript loader (tsx) is resolved from the package, not
// from the working directory. Before, every worker died at boot with `Cannot find package 'tsx'`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('starts worker threads from source when the working directory is outside the package', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-elsewhere-'));
  try {
    const entry = pathToFileURL(resolve(import.meta.dirname, '../index.ts')).href;
    const script = join(dir, 'main.mts'); // an ES module wherever it lies
    await writeFile(
      script,
      `import { Ferry } from ${JSON.stringify(entry)};
const ferry = await Ferry.open({ dir: ${JSON.stringify(join(dir, 'data'))}, threads: 1 });
await ferry.createTopic('t');
await ferry.producer().publish('t', { value: 'across' });
const consumer = ferry.consumer<string>('g', { topics: ['t'] });
const d = await consumer.next();
await d!.ack();
console.log('got', d!.value);
await ferry.close();
`,
    );
    const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const { stdout } = await run(process.execPath, ['--import', loader, script], { cwd: dir, timeout: 30_000 });
    expect(stdout.trim()).toBe('got across');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 40_000);
