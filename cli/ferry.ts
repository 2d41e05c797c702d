#!/usr/bin/env node
// The `ferry` bin (package.json `bin`): runs the command line on process.argv and exits with its code.
import { once } from 'node:events';
import { runCli } from './main.ts';

// A reader that went away (`ferry tail <dir> <topic> | head`) ends the command quietly, as it
// ends `cat`: without this an unhandled EPIPE printed a stack (trial of the packed package), and
// `tail --follow` would wait for a 'drain' that never comes. Nothing is lost: the commands that
// print read, and those that change a directory print after the change is durable.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  // Redrawn in place on a terminal; a pipe or a file gets none (its output stays the same).
  // `tail --follow` into a slow pipe waits for it instead of buffering without bound.
  drained: () => (process.stdout.writableNeedDrain ? once(process.stdout, 'drain').then(() => undefined) : undefined),
  ...(process.stderr.isTTY ? { progress: (text: string) => process.stderr.write(`\r${text}\x1b[K`) } : {}),
});
