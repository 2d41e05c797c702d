// Plain-text tables for the `ferry` command line: columns padded to their widest cell, numbers
// right-aligned. No colours, so output stays the same in a pipe and in a terminal.

/** A table: a header row and rows of cells (numbers are right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(oneLine))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: readonly string[]): string => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...cells.slice(1).map(line)].join('\n');
}

/**
 * A cell on one line: its first line, marked when more follows. A dead letter's last error carries
 * its stack; printed whole it broke the rows of `ferry peek` (trial of the packed package).
 */
function oneLine(cell: string | number): string {
  const text = String(cell);
  const end = text.search(/[\r\n]/);
  return end === -1 ? text : `${text.slice(0, end).trimEnd()} …`;
}

/** Bytes as B, KiB, MiB or GiB with one decimal. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration in ms as ms, s, min or h. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
