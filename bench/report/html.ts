// The self-contained HTML report (one file, inline CSS and SVG, no script, no network): the
// machine, the ratios to the physical limits, each scenario's figures as a table and a chart,
// latency distributions, Ferry and its peers side by side, and the comparison with an earlier run.
import type { Comparison } from './compare.ts';
import { formatRatio, formatValue } from './format.ts';
import type { Row } from './rows.ts';
import { ferryAdvantage, sideBySide } from './side-by-side.ts';
import { barChart, colour, esc, percentileChart } from './svg.ts';

export interface HtmlInput {
  readonly title: string;
  readonly command: string;
  readonly rows: readonly Row[];
  readonly questions: ReadonlyMap<string, string>;
  readonly comparison?: readonly Comparison[];
  readonly comparedWith?: string;
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#111}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child,td:nth-child(2){text-align:left}th{background:#f5f5f5}.bad{fill:#b91c1c;color:#b91c1c;font-weight:600}
.good{color:#15803d;font-weight:600}.muted,.note{color:#666;fill:#666}code{background:#f3f3f3;padding:1px 4px}
svg.chart{display:block;margin:.5em 0;font-size:12px}svg text{fill:#222}.grid{stroke:#e5e5e5}.whisker{stroke:#111;stroke-width:1.5}
.marker{stroke:#999;stroke-dasharray:4 3}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#555}`;

const shortCell = (cell: string): string => cell.replace(/^[^:]*: /, '');

function machine(rows: readonly Row[]): string {
  const m = rows[0]?.machine;
  if (!m) return '';
  const gib = (m.memBytes / 1024 ** 3).toFixed(1);
  const items: [string, string][] = [['CPU', `${m.cpu} × ${m.cores}`], ['memory', `${gib} GiB`], ['Node.js', m.node], ['platform', m.platform], ['disk', m.disk], ['load average at start', m.loadAvg.join(' / ')], ['commit', m.commit], ['date', m.date], ['profile', `${rows[0]!.profile}, ${Math.max(...rows.map((r) => r.values.length), 0)} repetitions per cell`]];
  return `<dl>${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

function figureTable(rows: readonly Row[]): string {
  const body = rows.map((r) => {
    if (r.status !== 'ok') return `<tr><td>${esc(shortCell(r.cell))}</td><td>${esc(r.metric)}</td><td class="bad">${r.status.toUpperCase()}</td><td colspan="3" style="text-align:left">${esc(r.detail)}</td></tr>`;
    const spread = r.values.length > 1 ? `${formatValue(r.min, r.unit)} – ${formatValue(r.max, r.unit)}` : '';
    return `<tr><td>${esc(shortCell(r.cell))}</td><td>${esc(r.metric)}${r.metric.endsWith(r.unit) ? '' : ` (${r.unit})`}</td><td><b>${esc(formatValue(r.median, r.unit))}</b></td><td class="muted">${esc(spread)}</td><td>${r.limit ? esc(`${formatValue(r.limit.value, r.unit)} ${r.limit.name}`) : ''}</td><td>${esc(formatRatio(r.ratio, r.better))}</td></tr>`;
  });
  return `<table><tr><th>cell</th><th>figure</th><th>median</th><th>min – max</th><th>limit</th><th>ratio</th></tr>${body.join('')}</table>`;
}

function scenarioCharts(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const metric of [...new Set(rows.map((r) => r.metric))]) {
    const mine = rows.filter((r) => r.metric === metric && r.status !== 'skipped');
    if (mine.length < 2 && !mine.some((r) => r.limit)) continue;
    const unit = mine[0]!.unit;
    out.push(`<h3>${esc(metric)}${metric.endsWith(unit) ? '' : ` (${unit})`}</h3>`);
    out.push(barChart(mine.map((r) => ({ label: shortCell(r.cell), value: r.median, min: r.min, max: r.max, ...(r.ratio !== undefined ? { note: `${formatRatio(r.ratio, r.better)} of ${r.limit!.name}` } : {}) })), (v) => formatValue(v, unit)));
  }
  for (const r of rows.filter((x) => x.distributions)) {
    const series = Object.entries(r.distributions!).map(([name, points]) => ({ name, points }));
    if (series.some((s) => s.points.length)) out.push(`<h3>latency distribution: ${esc(shortCell(r.cell))}</h3>${percentileChart(series)}`);
  }
  return out.join('');
}

function limitsSection(rows: readonly Row[]): string {
  const bounded = rows.filter((r) => r.ratio !== undefined && r.status === 'ok');
  if (bounded.length === 0) return '';
  const through = bounded.filter((r) => r.better === 'higher');
  const lat = bounded.filter((r) => r.better === 'lower');
  const chart = (rs: readonly Row[], scaleMax?: number): string => barChart(rs.map((r) => ({ label: `${shortCell(r.cell)}: ${r.metric}`, value: r.ratio!, note: `of ${r.limit!.name}` })), (v) => formatRatio(v, rs[0]!.better), { ...(scaleMax ? { scaleMax } : {}), marker: { value: 1, label: 'the limit' } });
  return `<h2>Ratios to the physical limits</h2><p class="muted">Each Ferry figure divided by the limit that binds it, measured in the same run on the same disk: a throughput as a share of its ceiling (1 = at the limit), a latency as a multiple of its floor.</p>${through.length ? `<h3>throughput, share of the limit</h3>${chart(through, Math.max(1, ...through.map((r) => r.ratio!)))}` : ''}${lat.length ? `<h3>latency, multiple of the limit</h3>${chart(lat)}` : ''}`;
}

function peersSection(rows: readonly Row[]): string {
  const table = sideBySide(rows);
  if (table.lines.length === 0) return '';
  const head = `<tr><th>figure</th>${table.systems.map((s, i) => `<th style="color:${colour(i)}">${esc(s)}</th>`).join('')}</tr>`;
  const body = table.lines.map((line) => {
    const ref = table.reference ? line.cells.get(table.reference) : undefined;
    const cells = table.systems.map((s) => {
      const r = line.cells.get(s);
      if (!r) return '<td></td>';
      if (r.status !== 'ok') return `<td class="bad" title="${esc(r.detail)}">FAILED</td>`;
      const adv = s === table.reference ? undefined : ferryAdvantage(ref, r);
      return `<td>${esc(formatValue(r.median, r.unit))}${adv === undefined ? '' : ` <span class="${adv >= 1 ? 'good' : 'bad'}">Ferry ${adv >= 1 ? adv.toFixed(1) : adv.toPrecision(2)}×</span>`}</td>`;
    });
    return `<tr><td>${esc(`${line.workload}: ${line.metric}`)}${line.unit === 'msg/s' ? '' : ` (${line.unit})`}</td>${cells.join('')}</tr>`;
  });
  const charts = table.lines.map((line) => `<h3>${esc(`${line.workload}: ${line.metric}`)}</h3>${barChart(table.systems.map((s, i) => ({ label: s, value: line.cells.get(s)?.status === 'ok' ? line.cells.get(s)!.median : Number.NaN, min: line.cells.get(s)?.min ?? Number.NaN, max: line.cells.get(s)?.max ?? Number.NaN, colour: colour(i) })).filter((b, i) => line.cells.has(table.systems[i]!) || Number.isFinite(b.value)), (v) => formatValue(v, line.unit))}`);
  const means = [...new Map(rows.filter((r) => r.scenario === 'peers' && r.confirmMeans).map((r) => [r.system, r.confirmMeans!])).entries()];
  const skipped = rows.filter((r) => r.status === 'skipped');
  return `<h2>Ferry and its peers, side by side</h2><p class="muted">Same workload code, message count, payload, window and prefetch for every system, in one run. "Ferry N×": how many times better ${esc(table.reference ?? 'Ferry')} is (below 1: worse).</p><table>${head}${body.join('')}</table><h3>What a confirm means</h3><ul>${means.map(([s, m]) => `<li><b>${esc(s)}</b>: ${esc(m)}</li>`).join('')}</ul>${skipped.length ? `<h3>Skipped</h3><ul>${skipped.map((r) => `<li>${esc(r.detail)}</li>`).join('')}</ul>` : ''}${charts.join('')}`;
}

function compareSection(comparison: readonly Comparison[] | undefined, path: string | undefined): string {
  if (!comparison) return '';
  const flagged = comparison.filter((c) => c.verdict === 'better' || c.verdict === 'worse');
  const pct = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : '');
  const body = comparison.map((c) => `<tr><td>${esc(c.key)}</td><td>${esc(formatValue(c.old, c.unit))}</td><td>${esc(formatValue(c.now, c.unit))}</td><td>${pct(c.change)}</td><td class="muted">${Number.isFinite(c.noise) ? `±${(c.noise * 100).toFixed(0)}%` : ''}</td><td class="${c.verdict === 'better' ? 'good' : c.verdict === 'worse' ? 'bad' : 'muted'}">${c.verdict}</td></tr>`);
  return `<h2>Compared with ${esc(path ?? '')}</h2><p>${flagged.length} change(s) beyond the noise measured in either run (the larger spread over repetitions, at least 5%).</p><table><tr><th>figure</th><th>old</th><th>now</th><th>change</th><th>noise</th><th>verdict</th></tr>${body.join('')}</table>`;
}

/** The whole report as one HTML document. */
export function renderHtml(input: HtmlInput): string {
  const rows = input.rows;
  const failed = rows.filter((r) => r.status === 'failed');
  // Ferry's scenarios first, the limits they are measured against after them.
  const named = (pred: (r: Row) => boolean): string[] => [...new Set(rows.filter((r) => r.scenario !== 'peers' && pred(r)).map((r) => r.scenario))];
  const scenarios = [...named((r) => r.system !== 'limit'), ...named((r) => r.system === 'limit')];
  const sections = scenarios.map((s) => {
    const mine = rows.filter((r) => r.scenario === s);
    return `<h2 id="${esc(s)}">${esc(s)}${mine[0]?.system === 'limit' ? ' (limit)' : ''}</h2><p>${esc(input.questions.get(s) ?? '')}</p>${figureTable(mine)}${scenarioCharts(mine)}`;
  });
  const toc = scenarios.length > 1 ? `<p>${scenarios.map((s) => `<a href="#${esc(s)}">${esc(s)}</a>`).join(' · ')}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(input.title)}</title><style>${CSS}</style></head>
<body><h1>${esc(input.title)}</h1><p>Reproduce with <code>${esc(input.command)}</code>. Each figure is the median over repetitions, each in a fresh process, warm-up excluded; min – max is the spread.</p>
${machine(rows)}
${failed.length ? `<p class="bad">${failed.length} figure(s) failed their correctness check or did not run; they are listed as FAILED, never as figures.</p>` : ''}
${compareSection(input.comparison, input.comparedWith)}
${peersSection(rows)}
${toc}
${limitsSection(rows)}
${sections.join('\n')}
</body></html>
`;
}
