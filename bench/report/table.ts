// The terminal report: one table per scenario (figure, median, spread over repetitions, the
// binding limit and the ratio to it), failed and skipped cells said as such, never as figures.
import { formatRatio, formatTable, formatValue } from './format.ts';
import type { Row } from './rows.ts';

function spread(row: Row): string {
  return row.values.length > 1 && Number.isFinite(row.spread) ? `±${((row.spread * 100) / 2).toFixed(0)}%` : '';
}

function cells(row: Row): string[] {
  if (row.status !== 'ok') return [row.cell.replace(/^[^:]*: /, ''), row.metric, row.status.toUpperCase(), '', '', '', row.detail.slice(0, 120)];
  return [row.cell.replace(/^[^:]*: /, ''), `${row.metric}${row.unit === 'ms' || row.unit === 's' ? ` (${row.unit})` : ''}`, formatValue(row.median, row.unit), spread(row), row.limit ? `${formatValue(row.limit.value, row.unit)} ${row.limit.name}` : '', formatRatio(row.ratio, row.better), ''];
}

/** The whole run as text: a heading and a table per scenario, in the order rows come. */
export function renderTable(rows: readonly Row[], questions: ReadonlyMap<string, string>): string {
  const out: string[] = [];
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const mine = rows.filter((r) => r.scenario === scenario);
    out.push(`\n== ${scenario}: ${questions.get(scenario) ?? ''}`.trimEnd(), '');
    out.push(formatTable(['cell', 'figure', 'median', 'spread', 'limit', 'ratio', 'note'], mine.map(cells)));
    const means = [...new Set(mine.flatMap((r) => (r.confirmMeans ? [`${r.system}: ${r.confirmMeans}`] : [])))];
    if (means.length) out.push('', ...means.map((m) => `confirm means, ${m}`));
  }
  return out.join('\n');
}
