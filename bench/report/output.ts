// Where a run's rows go: the JSON lines file (always), stdout (a table, or JSON lines with
// --json), the comparison with an earlier run, and the HTML report.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CliOptions } from '../lib/cli.ts';
import { compareRows, renderComparison, type Comparison } from './compare.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { fromJsonLines, toJsonLines, type Row } from './rows.ts';
import { renderSideBySide, renderTable } from './table.ts';

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Prints and writes everything a run produced; returns the comparison when one was asked for. */
export function emit(rows: readonly Row[], cli: CliOptions, title: string, questions: ReadonlyMap<string, string>, command: string): Comparison[] | undefined {
  const text = `${renderTable(rows, questions)}\n${renderSideBySide(rows)}`;
  const comparison = cli.comparePath ? compareRows(fromJsonLines(readFileSync(cli.comparePath, 'utf8')), rows) : undefined;
  const compareText = comparison ? renderComparison(comparison, cli.comparePath!) : '';
  if (cli.json) {
    process.stdout.write(toJsonLines(rows));
    process.stderr.write(`${text}\n${compareText}\n`);
  } else {
    process.stdout.write(`${text}\n${compareText}\n`);
  }
  write(cli.outPath, toJsonLines(rows));
  write(cli.htmlPath, renderHtml({ title, command, rows, questions, ...(comparison ? { comparison, comparedWith: cli.comparePath! } : {}) }));
  if (cli.markdownPath) write(cli.markdownPath, renderMarkdown(rows, command));
  const failed = rows.filter((r) => r.status === 'failed').length;
  process.stderr.write(`\nrows: ${cli.outPath}\nreport: ${cli.htmlPath}${cli.markdownPath ? `\nmarkdown: ${cli.markdownPath}` : ''}${failed ? `\n${failed} figure(s) FAILED their check or did not run` : ''}\n`);
  return comparison;
}
