// A backend against the engine it runs on (issue 15: Ferry's API on NATS JetStream against raw
// JetStream through its own client, same server, same run): per workload figure, the backend's
// share of the raw figure, 1 = no cost. Throughputs: backend / raw; latencies: raw / backend, so
// below 1 is always a cost. The issue's aim for throughput is 0.8 or more.
import { formatTable, formatValue } from './format.ts';
import { sideBySide } from './side-by-side.ts';
import type { Row } from './rows.ts';

/** The throughput share the issue aims for. */
export const OVERHEAD_AIM = 0.8;

export interface OverheadLine {
  readonly workload: string;
  readonly metric: string;
  readonly unit: Row['unit'];
  readonly raw: number | undefined;
  readonly backend: number | undefined;
  /** The backend's share of the raw figure (1 = no cost); undefined when either did not run. */
  readonly share: number | undefined;
  /** For a throughput: whether the share meets OVERHEAD_AIM. */
  readonly meetsAim: boolean | undefined;
}

/** The backend's figures against the raw system's, line by line. */
export function backendOverhead(rows: readonly Row[], backend: string, raw: string): OverheadLine[] {
  return sideBySide(rows).lines.flatMap((line) => {
    const r = line.cells.get(raw);
    const b = line.cells.get(backend);
    if (!r && !b) return [];
    const rawValue = r?.status === 'ok' ? r.median : undefined;
    const backendValue = b?.status === 'ok' ? b.median : undefined;
    const share = rawValue !== undefined && backendValue !== undefined && rawValue > 0 && backendValue > 0 ? (line.better === 'higher' ? backendValue / rawValue : rawValue / backendValue) : undefined;
    return [{ workload: line.workload, metric: line.metric, unit: line.unit, raw: rawValue, backend: backendValue, share, meetsAim: share === undefined || line.unit !== 'msg/s' ? undefined : share >= OVERHEAD_AIM }];
  });
}

/** The lines as a terminal table. */
export function renderOverhead(lines: readonly OverheadLine[], backend: string, raw: string): string {
  if (lines.length === 0) return `no figures of ${backend} and ${raw} in this run`;
  const value = (v: number | undefined, unit: string): string => (v === undefined ? 'FAILED' : formatValue(v, unit));
  return formatTable(
    ['figure', raw, backend, 'share', `aim ${OVERHEAD_AIM}`],
    lines.map((l) => [`${l.workload}: ${l.metric}${l.unit === 'msg/s' ? '' : ` (${l.unit})`}`, value(l.raw, l.unit), value(l.backend, l.unit), l.share === undefined ? '-' : l.share.toFixed(2), l.meetsAim === undefined ? '' : l.meetsAim ? 'met' : 'NOT MET']),
  );
}
