#!/usr/bin/env node
// The `ferry` bin (package.json `bin`): runs the command line on process.argv and exits with its code.
import { runCli } from './main.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
