// The `ferry` command line's entry: picks the command, checks the data directory, opens it,
// runs the command, and maps failures to exit codes and messages that say what to do.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ferry, FerryError } from '../index.ts';
import { UsageError, parse } from './args.ts';
import { COMMANDS, type Command, type OfflineCommand, type OfflineIo } from './commands.ts';
import { OFFLINE_COMMANDS } from './offline-commands.ts';

/** Exit codes of the `ferry` bin. */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, locked: 3, corrupt: 4 });

/** Where the command line writes: its output, its errors, a status line, and the wait for a slow reader. */
export type CliIo = OfflineIo;

/** Every command, by name: those that open the directory and those that read its files. */
const ALL: Readonly<Record<string, Command | OfflineCommand>> = { ...COMMANDS, ...OFFLINE_COMMANDS };

function usage(): string {
  const names = Object.keys(ALL);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: ferry <command> <dir> [arguments] [flags]',
    '',
    'Looks into and administers a Ferry data directory that no other process has open.',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${ALL[n]!.summary}`),
    '',
    "Run 'ferry <command> --help' for a command's arguments and flags; 'ferry --version' for the version.",
    'Exit codes: 0 done, 1 failed, 2 bad usage, 3 directory open in another process, 4 corrupt data.',
  ].join('\n');
}

/** The installed package's version (its own package.json, reached by the package's name). */
function version(): string {
  return (createRequire(import.meta.url)('ferry/package.json') as { version: string }).version;
}

function commandHelp(name: string, c: Command | OfflineCommand): string {
  const flags = Object.entries(c.flags).map(([flag, f]) => `  --${flag}${f.short ? `, -${f.short}` : ''}${f.type === 'string' ? ' <value>' : ''}  ${f.help}`);
  return [`Usage: ferry ${name} ${c.positionals.map((p) => `<${p}>`).join(' ')}${flags.length > 0 ? ' [flags]' : ''}`, '', c.summary, ...(flags.length > 0 ? ['', 'Flags:', ...flags] : []), '  --help, -h  this help'].join('\n');
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(version());
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(ALL, name) ? ALL[name] : undefined;
  if (!command) {
    io.err(`ferry: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(name, command));
    return EXIT.ok;
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest, command.positionals, command.flags);
  } catch (error) {
    io.err(`ferry ${name}: ${error instanceof Error ? error.message : String(error)}\n\n${commandHelp(name, command)}`);
    return EXIT.usage;
  }
  const dir = parsed.args.dir!;
  // Ferry.open would create a missing directory: a command line that only looks must not.
  if (!existsSync(join(dir, '_catalog'))) {
    io.err(`ferry ${name}: ${JSON.stringify(dir)} is not a Ferry data directory (${existsSync(dir) ? 'it has no _catalog' : 'it does not exist'}); give the dir passed to Ferry.open`);
    return EXIT.failed;
  }
  if ('offline' in command) {
    try {
      return await command.offline(parsed.args, parsed.flags, io);
    } catch (error) {
      return report(name, dir, error, io);
    }
  }
  let ferry: Ferry | undefined;
  try {
    ferry = await Ferry.open({ dir, ...command.openWith?.(parsed.flags) });
    await command.run(ferry, parsed.args, parsed.flags, io);
    return EXIT.ok;
  } catch (error) {
    return report(name, dir, error, io);
  } finally {
    await ferry?.close({ timeoutMs: 0 });
  }
}

/** The command line's way to what the engine's message says in the API's words (ferry.describe(), { repair: true }). */
const CLI_HINT: Readonly<Record<string, (dir: string) => string>> = {
  UNKNOWN_GROUP: (dir) => `ferry groups ${dir} lists the groups`,
  UNKNOWN_TOPIC: (dir) => `ferry topics ${dir} lists the topics`,
  CORRUPT_SEGMENT: (dir) => `ferry verify ${dir} lists the damage, ferry repair ${dir} --yes cuts it (keep a copy first)`,
};

function report(name: string, dir: string, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`ferry ${name}: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof FerryError) {
    if (error.code === 'LOCKED') {
      const holder = (error.details as { holder?: unknown } | undefined)?.holder;
      io.err(`ferry ${name}: ${dir} is open in another process${typeof holder === 'string' ? ` (${holder})` : ''}; stop it first, or ask it (its Ferry instance has the same methods). 'ferry tail' and 'ferry verify' read the files while it runs`);
      return EXIT.locked;
    }
    io.err(`ferry ${name}: ${error.code}: ${error.message}${CLI_HINT[error.code] ? `. From the command line: ${CLI_HINT[error.code]!(dir)}` : ''}`);
    return error.code === 'CORRUPT_SEGMENT' || error.code === 'CORRUPT_STATE' ? EXIT.corrupt : EXIT.failed;
  }
  io.err(`ferry ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.failed;
}
