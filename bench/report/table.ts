// The terminal report: one table per scenario (figure, median, spread over repetitions, the
// binding limit and the ratio to it), failed and skipped cells said as such, never as figures.
import { formatRatio, formatTable, formatValue } from './format.ts';
import type { Row } from './rows.ts';
import { ferryAdvantage, sideBySide } from './side-by-side.ts';

function spread(row: Row): string {
  return row.values.length > 1 && Number.isFinite(row.spread) ? `±${((row.spread * 100) / 2).toFixed(0)}%` : '';
}

function cells(row: Row): string[] {
  if (row.status !== 'ok') return [row.cell.replace(/^[^:]*: /, ''), row.metric, row.status.toUpperCase(), '', '', '', row.detail.slice(0, 120)];
  return [row.cell.replace(/^[^:]*: /, ''), `${row.metric}${row.metric.endsWith(row.unit) || row.unit === 'msg/s' ? '' : ` (${row.unit})`}`, formatValue(row.median, row.unit), spread(row), row.limit ? `${formatValue(row.limit.value, row.unit)} ${row.limit.name}` : '', formatRatio(row.ratio, row.better), ''];
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

/**
 * Ferry and the peers side by side: one column per system; each peer's cell carries how many
 * times better Ferry's figure is (`Ferry 3.1x`), or `FAILED`.
 */
export function renderSideBySide(rows: readonly Row[]): string {
  const table = sideBySide(rows);
  if (table.lines.length === 0) return '';
  const body = table.lines.map((line) => {
    const ref = table.reference ? line.cells.get(table.reference) : undefined;
    return [
      `${line.workload}: ${line.metric}${line.unit === 'msg/s' ? '' : ` (${line.unit})`}`,
      ...table.systems.map((system) => {
        const row = line.cells.get(system);
        if (!row) return '';
        if (row.status !== 'ok') return 'FAILED';
        const adv = system === table.reference ? undefined : ferryAdvantage(ref, row);
        return `${formatValue(row.median, row.unit)}${adv === undefined ? "" : ` (Ferry ${adv >= 1 ? adv.toFixed(1) : adv.toPrecision(2)}x)`}`;
      }),
    ];
  });
  const skipped = rows.filter((r) => r.scenario === 'peers' && r.status === 'skipped').map((r) => `skipped: ${r.detail}`);
  const means = [...new Set(rows.filter((r) => r.scenario === 'peers' && r.confirmMeans).map((r) => `${r.system}: ${r.confirmMeans}`))];
  return [`\n== side by side (Ferry Nx: how many times better ${table.reference ?? 'Ferry'} is)`, '', formatTable(['figure', ...table.systems], body), '', ...means.map((m) => `confirm means, ${m}`), ...skipped].join('\n');
}
