// Inline SVG charts for the HTML report (no script, no network): horizontal bars with a spread
// whisker, and lines for latency distributions over percentiles.

/** Escapes text for HTML and SVG. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

/** The colour of the i-th series or system. */
export function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Spread over repetitions, drawn as a whisker. */
  readonly min?: number;
  readonly max?: number;
  readonly colour?: string;
  /** Text after the value (e.g. a ratio). */
  readonly note?: string;
}

/** Horizontal bars, one per line, scaled to the largest value (or `scaleMax`); NaN bars say "failed". */
export function barChart(bars: readonly Bar[], format: (v: number) => string, options: { scaleMax?: number; marker?: { value: number; label: string } } = {}): string {
  const labelWidth = Math.min(420, 12 + 6.6 * Math.max(10, ...bars.map((b) => b.label.length)));
  const plotWidth = 360;
  const rowHeight = 22;
  const width = labelWidth + plotWidth + 340;
  const height = rowHeight * bars.length + 24;
  const finite = bars.flatMap((b) => [b.value, b.max ?? b.value]).filter(Number.isFinite);
  const max = options.scaleMax ?? Math.max(1e-9, ...finite, options.marker?.value ?? 0);
  const x = (v: number): number => labelWidth + Math.max(0, Math.min(1, v / max)) * plotWidth;
  const parts = bars.map((b, i) => {
    const y = 8 + i * rowHeight;
    const label = `<text x="${labelWidth - 6}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>`;
    if (!Number.isFinite(b.value)) return `${label}<text x="${labelWidth + 4}" y="${y + 13}" class="bad">failed</text>`;
    const whisker = b.min !== undefined && b.max !== undefined && b.max > b.min ? `<line x1="${x(b.min)}" x2="${x(b.max)}" y1="${y + 9}" y2="${y + 9}" class="whisker"/>` : '';
    const bar = `<rect x="${labelWidth}" y="${y + 2}" width="${Math.max(1, x(b.value) - labelWidth)}" height="14" fill="${b.colour ?? colour(0)}"><title>${esc(`${b.label}: ${format(b.value)}`)}</title></rect>`;
    const text = `<text x="${x(Math.max(b.value, b.max ?? 0)) + 6}" y="${y + 13}">${esc(format(b.value))}${b.note ? ` <tspan class="note">${esc(b.note)}</tspan>` : ''}</text>`;
    return label + bar + whisker + text;
  });
  const marker = options.marker ? `<line x1="${x(options.marker.value)}" x2="${x(options.marker.value)}" y1="4" y2="${height - 14}" class="marker"/><text x="${x(options.marker.value)}" y="${height - 2}" text-anchor="middle" class="note">${esc(options.marker.label)}</text>` : '';
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}${marker}</svg>`;
}

export interface Series {
  readonly name: string;
  /** [percentile, ms] pairs. */
  readonly points: readonly (readonly [number, number])[];
}

/** Latency over percentiles: x in "nines" (50, 90, 99, 99.9, ...), y in ms on a log scale. */
export function percentileChart(series: readonly Series[]): string {
  const width = 560;
  const height = 240;
  const left = 56;
  const bottom = 28;
  const nines = (p: number): number => -Math.log10(Math.max(1e-6, 1 - Math.min(p, 99.9999) / 100));
  const all = series.flatMap((s) => s.points).filter(([, ms]) => ms > 0);
  if (all.length === 0) return '';
  const xMax = Math.max(3, ...all.map(([p]) => nines(p)));
  const lo = Math.min(...all.map(([, ms]) => ms));
  const hi = Math.max(...all.map(([, ms]) => ms));
  // A log scale only when the values span more than a decade; otherwise linear from 0.
  const log = hi / Math.max(lo, 1e-3) > 20;
  const scale = log ? (v: number): number => Math.log10(Math.max(v, 1e-3)) : (v: number): number => v;
  const yMin = log ? scale(lo) : 0;
  const yMax = log ? scale(hi) : hi * 1.1;
  const x = (p: number): number => left + ((nines(p) - nines(50)) / (xMax - nines(50))) * (width - left - 120);
  const y = (ms: number): number => height - bottom - ((scale(ms) - yMin) / (yMax - yMin || 1)) * (height - bottom - 10);
  const xTicks = [50, 90, 99, 99.9, 99.99].filter((p) => nines(p) <= xMax + 1e-9).map((p) => `<line x1="${x(p)}" x2="${x(p)}" y1="10" y2="${height - bottom}" class="grid"/><text x="${x(p)}" y="${height - 10}" text-anchor="middle">p${p}</text>`);
  const yTicks = niceTicks(log ? lo : 0, log ? hi : hi * 1.1, log).map((v) => `<line x1="${left}" x2="${width - 120}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${left - 4}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))} ms</text>`);
  const lines = series.map((s, i) => {
    const pts = s.points.filter(([, ms]) => ms > 0).map(([p, ms]) => `${x(p).toFixed(1)},${y(ms).toFixed(1)}`);
    const last = s.points[s.points.length - 1];
    return `<polyline points="${pts.join(' ')}" fill="none" stroke="${colour(i)}" stroke-width="2"/><text x="${width - 116}" y="${16 + i * 16}" fill="${colour(i)}">${esc(s.name)}${last ? ` (max ${last[1].toPrecision(3)})` : ''}</text>`;
  });
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${xTicks.join('')}${yTicks.join('')}${lines.join('')}</svg>`;
}

/** Round tick values between lo and hi: 1-2-5 steps, or the same per decade on a log scale. */
export function niceTicks(lo: number, hi: number, log: boolean): number[] {
  const ticks: number[] = [];
  if (log) {
    for (let e = Math.floor(Math.log10(Math.max(lo, 1e-3))); e <= Math.ceil(Math.log10(hi)); e++) for (const m of [1, 2, 5]) if (m * 10 ** e >= lo && m * 10 ** e <= hi) ticks.push(m * 10 ** e);
    return ticks;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(v);
  return ticks;
}
