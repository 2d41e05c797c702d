// `--compare old.jsonl`: each figure against the same cell and figure of an earlier run, flagged
// only when the change exceeds the noise both runs measured (their spread over repetitions).
import { formatTable, formatValue } from './format.ts';
import { rowKey, type Row } from './rows.ts';

/** Below this relative change nothing is flagged, whatever the spread (one repetition has none). */
export const MIN_NOISE = 0.05;

export type Verdict = 'better' | 'worse' | 'noise' | 'new' | 'gone' | 'not comparable';

export interface Comparison {
  readonly key: string;
  readonly unit: Row['unit'];
  readonly old: number;
  readonly now: number;
  /** now / old - 1. */
  readonly change: number;
  /** The relative change that counts as noise here: the larger spread of the two, at least MIN_NOISE. */
  readonly noise: number;
  readonly verdict: Verdict;
}

/** Compares every figure of `now` with `old` by cell and figure name. */
export function compareRows(old: readonly Row[], now: readonly Row[]): Comparison[] {
  const before = new Map(old.filter((r) => r.metric !== '-').map((r) => [rowKey(r), r]));
  const out: Comparison[] = [];
  for (const r of now.filter((x) => x.metric !== '-')) {
    const o = before.get(rowKey(r));
    before.delete(rowKey(r));
    if (!o) {
      out.push({ key: rowKey(r), unit: r.unit, old: Number.NaN, now: r.median, change: Number.NaN, noise: Number.NaN, verdict: 'new' });
      continue;
    }
    if (o.status !== 'ok' || r.status !== 'ok' || !Number.isFinite(o.median) || !Number.isFinite(r.median) || o.median === 0) {
      out.push({ key: rowKey(r), unit: r.unit, old: o.median, now: r.median, change: Number.NaN, noise: Number.NaN, verdict: 'not comparable' });
      continue;
    }
    const change = r.median / o.median - 1;
    const noise = Math.max(MIN_NOISE, Number.isFinite(o.spread) ? o.spread : 0, Number.isFinite(r.spread) ? r.spread : 0);
    const improved = r.better === 'higher' ? change > 0 : change < 0;
    const verdict: Verdict = Math.abs(change) <= noise ? 'noise' : improved ? 'better' : 'worse';
    out.push({ key: rowKey(r), unit: r.unit, old: o.median, now: r.median, change, noise, verdict });
  }
  for (const o of before.values()) out.push({ key: rowKey(o), unit: o.unit, old: o.median, now: Number.NaN, change: Number.NaN, noise: Number.NaN, verdict: 'gone' });
  return out;
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : '';
}

/** The comparison as a terminal table; changes beyond the noise are marked BETTER / WORSE. */
export function renderComparison(rows: readonly Comparison[], oldPath: string): string {
  const flagged = rows.filter((r) => r.verdict === 'better' || r.verdict === 'worse').length;
  const body = formatTable(
    ['figure', 'old', 'now', 'change', 'noise', 'verdict'],
    rows.map((r) => [r.key, formatValue(r.old, r.unit), formatValue(r.now, r.unit), pct(r.change), Number.isFinite(r.noise) ? `±${(r.noise * 100).toFixed(0)}%` : '', r.verdict === 'better' || r.verdict === 'worse' ? r.verdict.toUpperCase() : r.verdict]),
  );
  return `\n== compared with ${oldPath}: ${flagged} change(s) beyond the measured noise\n\n${body}`;
}
