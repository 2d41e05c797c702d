// Number and table formatting for the terminal report.

/** A rate with a k/M/G suffix and three significant digits, e.g. `14.2k`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) if (perSecond >= scale) return `${(perSecond / scale).toPrecision(3)}${suffix}`;
  return perSecond.toPrecision(3);
}

/** A value in its unit, three significant digits (rates with a suffix). */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '-';
  if (unit === 'msg/s') return formatRate(value);
  return value >= 1000 ? value.toFixed(0) : value.toPrecision(3);
}

/** A ratio: `0.42` of a ceiling, or `3.1x` a floor. */
export function formatRatio(ratio: number | undefined, better: 'higher' | 'lower'): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '';
  return better === 'higher' ? ratio.toFixed(2) : `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}x`;
}

/** Lays rows out under headers: first column left-aligned, the others right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
