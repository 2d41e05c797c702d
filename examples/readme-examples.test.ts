// Every TypeScript block of the README, type-checked against the repository's source and run as
// written (in its own process, in an empty directory), so an example cannot rot (issue 10).
// `from 'ferry'` is pointed at the repository's index.ts (and `from 'ferry/testing'` at
// props/testing/index.ts); nothing else in a block is changed.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeBlocks, type CodeBlock } from '../test-support/markdown-blocks.ts';
import { REPO } from '../test-support/packed-app.ts';

const run = promisify(execFile);
const TYPESCRIPT = new Set(['ts', 'typescript']);
/** A block that has not finished by then hangs (a consumer left open, a run() never ended). */
const BLOCK_TIMEOUT_MS = 30_000;

const readme = await readFile(join(REPO, 'README.md'), 'utf8');
const blocks = codeBlocks(readme).filter((b) => TYPESCRIPT.has(b.lang));

/** The block as a module of the repository at `file`: the package's entries resolve to their sources. */
function asModule(block: CodeBlock, file: string): string {
  const to = (source: string): string => {
    const entry = relative(dirname(file), join(REPO, source)).split(sep).join('/');
    return entry.startsWith('.') ? entry : `./${entry}`;
  };
  return block.code.replace(/from 'ferry'/g, `from '${to('index.ts')}'`).replace(/from 'ferry\/testing'/g, `from '${to('props/testing/index.ts')}'`);
}

describe('README examples', () => {
  let scratch: string;
  const files = new Map<CodeBlock, string>();

  beforeAll(async () => {
    // Under the repository (gitignored .scratch/) so the repository's tsconfig and packages apply.
    await mkdir(join(REPO, '.scratch'), { recursive: true });
    scratch = await mkdtemp(join(REPO, '.scratch', 'readme-'));
    for (const block of blocks) {
      const file = join(scratch, `readme-line-${block.line}.ts`);
      await writeFile(file, asModule(block, file));
      files.set(block, file);
    }
  });

  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('has TypeScript examples to check', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it('type-checks every TypeScript block', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(REPO, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
    if (!config) throw new Error('tsconfig.json did not parse');
    const program = ts.createProgram([...files.values()], { ...config.options, noEmit: true });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(errors).toEqual([]);
  }, 60_000);

  it.each(blocks.map((b) => [b.line, b] as const))('runs the block at README.md line %i to the end', async (_line, block) => {
    // An empty working directory for the block's './data'. Under the repository: run from source,
    // a worker thread loads tsx by name (`--import tsx`), which resolves from the working directory.
    const cwd = await mkdtemp(join(scratch, 'cwd-'));
    try {
      const tsx = import.meta.resolve('tsx');
      const { NODE_OPTIONS: _options, ...env } = process.env;
      const done = await run(process.execPath, ['--import', tsx, files.get(block)!], { cwd, env, timeout: BLOCK_TIMEOUT_MS, killSignal: 'SIGKILL' })
        .then(() => 'finished', (error: { killed?: boolean; code?: unknown; stderr?: string }) => (error.killed ? `still running after ${BLOCK_TIMEOUT_MS} ms` : `exit ${String(error.code)}: ${error.stderr ?? ''}`));
      expect(done).toBe('finished');
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }, BLOCK_TIMEOUT_MS + 10_000);
});
