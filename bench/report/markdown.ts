// `--markdown=path`: the run as Markdown tables for the README, so its benchmark section is
// pasted from a run (with the command and the machine), never typed by hand.
import { formatRatio, formatValue } from './format.ts';
import type { Row } from './rows.ts';
import { ferryAdvantage, sideBySide } from './side-by-side.ts';

const cellText = (s: string): string => s.replace(/\|/g, '\\|');

function machineLine(rows: readonly Row[]): string {
  const m = rows[0]?.machine;
  if (!m) return '';
  return `${m.cpu} × ${m.cores}, ${(m.memBytes / 1024 ** 3).toFixed(0)} GiB, Node.js ${m.node}, ${m.disk}, load ${m.loadAvg.join(' / ')} at the start, commit ${m.commit}, ${m.date.slice(0, 10)}; ${rows[0]!.profile} profile, median of ${Math.max(0, ...rows.map((r) => r.values.length))} repetitions, each in a fresh process.`;
}

function figures(rows: readonly Row[]): string {
  const mine = rows.filter((r) => r.system !== 'limit' && r.scenario !== 'peers');
  if (mine.length === 0) return '';
  const lines = mine.map((r) => `| ${cellText(r.cell)} | ${cellText(r.metric)}${r.metric.endsWith(r.unit) || r.unit === 'msg/s' ? '' : ` (${r.unit})`} | ${r.status === 'ok' ? formatValue(r.median, r.unit) : r.status.toUpperCase()} | ${r.status === 'ok' && r.values.length > 1 ? `${formatValue(r.min, r.unit)}–${formatValue(r.max, r.unit)}` : ''} | ${r.limit ? `${formatRatio(r.ratio, r.better)} of ${cellText(r.limit.name)} (${formatValue(r.limit.value, r.unit)})` : ''} |`);
  return ['| cell | figure | median | min–max | against the limit |', '| --- | --- | --- | --- | --- |', ...lines].join('\n');
}

function peers(rows: readonly Row[]): string {
  const table = sideBySide(rows);
  if (table.lines.length === 0) return '';
  const lines = table.lines.map((line) => {
    const ref = table.reference ? line.cells.get(table.reference) : undefined;
    const cells = table.systems.map((s) => {
      const r = line.cells.get(s);
      if (!r) return '';
      if (r.status !== 'ok') return 'FAILED';
      const adv = s === table.reference ? undefined : ferryAdvantage(ref, r);
      return `${formatValue(r.median, r.unit)}${adv === undefined ? '' : ` (Ferry ${adv >= 1 ? adv.toFixed(1) : adv.toPrecision(2)}×)`}`;
    });
    return `| ${cellText(line.workload)}: ${cellText(line.metric)}${line.unit === 'msg/s' ? '' : ` (${line.unit})`} | ${cells.join(' | ')} |`;
  });
  const means = [...new Map(rows.filter((r) => r.scenario === 'peers' && r.confirmMeans).map((r) => [r.system, r.confirmMeans!])).entries()].map(([s, m]) => `- ${s}: ${m}`);
  const skipped = rows.filter((r) => r.status === 'skipped').map((r) => `- skipped: ${r.detail}`);
  return [`| figure | ${table.systems.join(' | ')} |`, `| --- |${table.systems.map(() => ' --- |').join('')}`, ...lines, '', 'What a confirm means:', '', ...means, ...skipped].join('\n');
}

/** The run as Markdown: the command, the machine, Ferry's figures with their limits, the peers side by side. */
export function renderMarkdown(rows: readonly Row[], command: string): string {
  return [`Reproduce with \`${command}\`. ${machineLine(rows)}`, '', peers(rows), '', figures(rows), ''].filter((s, i, a) => s !== '' || a[i - 1] !== '').join('\n');
}
