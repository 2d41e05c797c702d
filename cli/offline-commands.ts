// The `ferry` commands that read a data directory's files without opening it: no lock is taken
// and nothing is written, so they are safe on a directory another process has open.
import { followTopic, verifyDataDir } from '../index.ts';
import { UsageError, wholeNumber } from './args.ts';
import type { OfflineCommand } from './commands.ts';
import { bytes, table } from './table.ts';

/** Exit code of a corrupt directory (as main.ts's EXIT.corrupt). */
const CORRUPT = 4;

/** `--from` of tail: an offset, earliest or end. */
function followStart(text: string): number | 'earliest' | 'end' {
  if (text === 'earliest' || text === 'end') return text;
  if (/^\d+$/.test(text)) return wholeNumber('--from', text);
  throw new UsageError(`--from must be an offset, earliest or end (got ${JSON.stringify(text)})`);
}

export const OFFLINE_COMMANDS: Readonly<Record<string, OfflineCommand>> = {
  tail: {
    summary: 'prints messages of a topic from its files (no group, no lock: the owner may be running); --follow keeps printing new ones until Ctrl-C',
    positionals: ['dir', 'topic'],
    flags: {
      partition: { type: 'string', short: 'p', help: 'one partition (default: all)' },
      from: { type: 'string', help: 'an offset (per partition), earliest or end (default: earliest, or end with --follow)' },
      follow: { type: 'boolean', short: 'f', help: 'keep printing messages as they are written, until Ctrl-C or SIGTERM' },
      json: { type: 'boolean', help: 'one JSON document per line' },
    },
    async offline(args, flags, io) {
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        const messages = followTopic(args.dir!, args.topic!, {
          from: flags.from === undefined ? (flags.follow ? 'end' : 'earliest') : followStart(String(flags.from)),
          ...(flags.partition !== undefined && { partition: wholeNumber('--partition', String(flags.partition)) }),
          stopAtEnd: flags.follow !== true,
          signal: stop.signal,
        });
        for await (const m of messages) {
          io.out(flags.json ? JSON.stringify(m) : `${m.partition}\t${m.offset}\t${new Date(m.publishedAt).toISOString()}\t${m.key ?? '-'}\t${JSON.stringify(m.value)}`);
          await io.drained?.();
        }
        return 0;
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      }
    },
  },
  verify: {
    summary: "checks every log offline (CRCs, torn tails, records, the catalog); exit 4 on corruption; changes nothing",
    positionals: ['dir'],
    flags: { json: { type: 'boolean', help: 'print JSON instead of tables' } },
    async offline(args, flags, io) {
      const report = verifyDataDir(args.dir!, { progress: (done, total, read) => io.progress?.(`verifying: ${done}/${total} logs, ${bytes(read)}`) });
      io.progress?.(''); // the status line is done
      if (flags.json) io.out(JSON.stringify(report, null, 2));
      else {
        io.out(table(['LOG', 'SEGMENTS', 'BYTES', 'BATCHES', 'OFFSETS', 'PROBLEMS'], report.logs.map((l) => [l.name, l.segments, bytes(l.bytes), l.batches, `${l.startOffset}..${l.endOffset}`, l.problems.length])));
        if (report.findings.length > 0) {
          io.out('');
          io.out(table(['KIND', 'WHERE', 'BYTE', 'OFFSET', 'WHAT'], report.findings.map((f) => [f.kind, f.where, f.position ?? '-', f.offset ?? '-', f.reason])));
        }
        io.out('');
        io.out(report.ok ? `ok: no corruption in ${report.logs.length} logs${report.findings.some((f) => f.kind === 'torn-tail') ? ' (torn tails are cut by the next open: only unconfirmed writes)' : ''}` : `CORRUPT: see above; keep a copy of the directory, then restore from a backup, or cut each damaged log at its first bad batch: ferry repair ${args.dir!} --yes (Ferry.open with { repair: true } in code)`);
      }
      return report.ok ? 0 : CORRUPT;
    },
  },
};
