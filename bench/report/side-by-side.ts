// Ferry and its peers in one table: a row per workload figure, a column per system, each peer's
// figure with its ratio to Ferry's (the first Ferry system of the run), so no comparison needs
// two tables. Used by the terminal report and the HTML report.
import type { Row } from './rows.ts';

/** The figures compared across systems (the others stay in the per-cell tables). */
export const COMPARED = ['msg/s', 'confirm p50', 'confirm p99', 'deliver p50', 'deliver p99', 'deliver p99.9', 'pacer lag p50', 'redelivery p50', 'redelivery p99'];

export interface SideBySide {
  readonly systems: readonly string[];
  /** The system ratios are taken against. */
  readonly reference: string | undefined;
  readonly lines: readonly { readonly workload: string; readonly metric: string; readonly unit: Row['unit']; readonly better: Row['better']; readonly cells: ReadonlyMap<string, Row> }[];
}

/** Splits a peers cell id `peers: <workload> | <system>`. */
export function splitPeerCell(cell: string): { workload: string; system: string } | undefined {
  const m = /^peers: (.*) \| (.*)$/.exec(cell);
  return m ? { workload: m[1]!, system: m[2]! } : undefined;
}

/** Pivots the peers rows of a run; empty when the run had none. */
export function sideBySide(rows: readonly Row[]): SideBySide {
  const peerRows = rows.filter((r) => r.scenario === 'peers' && r.status !== 'skipped' && COMPARED.includes(r.metric));
  const systems = [...new Set(peerRows.map((r) => r.system))];
  const reference = systems.find((s) => s.startsWith('ferry'));
  const lines = new Map<string, { workload: string; metric: string; unit: Row['unit']; better: Row['better']; cells: Map<string, Row> }>();
  for (const r of peerRows) {
    const split = splitPeerCell(r.cell);
    if (!split) continue;
    const key = `${split.workload}\u0000${r.metric}`;
    if (!lines.has(key)) lines.set(key, { workload: split.workload, metric: r.metric, unit: r.unit, better: r.better, cells: new Map() });
    lines.get(key)!.cells.set(r.system, r);
  }
  return { systems, reference, lines: [...lines.values()] };
}

/** A peer's figure against the reference's: how many times better (>1) or worse (<1) the reference is. */
export function ferryAdvantage(reference: Row | undefined, peer: Row | undefined): number | undefined {
  if (!reference || !peer || reference.status !== 'ok' || peer.status !== 'ok' || !(reference.median > 0) || !(peer.median > 0)) return undefined;
  return reference.better === 'higher' ? reference.median / peer.median : peer.median / reference.median;
}
