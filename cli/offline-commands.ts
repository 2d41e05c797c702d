// The `ferry` commands that read a data directory's files without opening it: no lock is taken
// and nothing is written, so they are safe on a directory another process has open.
import { verifyDataDir } from '../index.ts';
import type { OfflineCommand } from './commands.ts';
import { bytes, table } from './table.ts';

/** Exit code of a corrupt directory (as main.ts's EXIT.corrupt). */
const CORRUPT = 4;

export const OFFLINE_COMMANDS: Readonly<Record<string, OfflineCommand>> = {
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
        io.out(report.ok ? `ok: no corruption in ${report.logs.length} logs${report.findings.some((f) => f.kind === 'torn-tail') ? ' (torn tails are cut by the next open: only unconfirmed writes)' : ''}` : "CORRUPT: see above; keep a copy of the directory, then restore from a backup or open it with { repair: true } (Ferry.open)");
      }
      return report.ok ? 0 : CORRUPT;
    },
  },
};
