// The JSON rows of a run (one per figure of each cell: `--json` prints them as JSON lines, the
// HTML report and `--compare` read them): the median over repetitions with its spread, the
// check's verdict, the machine, and the figure's ratio to the physical limit that binds it.
import type { CellOutput, Metric } from '../lib/cell-output.ts';
import type { Machine } from '../lib/machine.ts';
import type { CellRuns } from '../lib/run-cells.ts';
import { summarise, type Summary } from '../lib/stats.ts';

/** Bumped when a field changes meaning, so `--compare` can refuse rows it would misread. */
export const ROW_SCHEMA = 1;

export type RowStatus = 'ok' | 'failed' | 'skipped';

/** One figure of one cell. Numbers that were not measured are null in JSON (NaN here). */
export interface Row extends Summary {
  readonly schema: typeof ROW_SCHEMA;
  readonly profile: string;
  readonly machine: Machine;
  readonly scenario: string;
  /** The cell's id, stable across runs: with `metric`, the key `--compare` matches rows by. */
  readonly cell: string;
  /** `ferry`, a peer's name, or `limit`. */
  readonly system: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metric: string;
  readonly unit: Metric['unit'];
  readonly better: Metric['better'];
  readonly status: RowStatus;
  /** The check's detail when ok; why it failed or was skipped otherwise. */
  readonly detail: string;
  readonly confirmMeans?: string;
  /** The binding limit and this figure's ratio to it (value / limit). */
  readonly limit?: { readonly name: string; readonly value: number };
  readonly ratio?: number;
  /** Latency distributions of the median repetition ([percentile, ms][] by name); on the cell's first row. */
  readonly distributions?: CellOutput['distributions'];
}

/** A cell that was not run, and why (e.g. its peer's server could not start). */
export interface Skipped {
  readonly scenario: string;
  readonly cell: string;
  readonly system: string;
  readonly reason: string;
}

export interface RowContext {
  readonly profile: string;
  readonly machine: Machine;
}

/** The value of every limit measured in `rows` (ok rows of system `limit`), by name. */
function limitValues(rows: readonly Row[]): Map<string, number> {
  return new Map(rows.filter((r) => r.system === 'limit' && r.status === 'ok' && Number.isFinite(r.median)).map((r) => [r.metric, r.median]));
}

/**
 * The limit binding a figure among the ones it names: the lowest for a throughput (the tightest
 * ceiling), the highest for a latency (the largest floor). Undefined when none was measured.
 */
export function bindingLimit(better: Metric['better'], names: readonly string[], measured: ReadonlyMap<string, number>): { name: string; value: number } | undefined {
  let best: { name: string; value: number } | undefined;
  for (const name of names) {
    const value = measured.get(name);
    if (value === undefined) continue;
    if (!best || (better === 'higher' ? value < best.value : value > best.value)) best = { name, value };
  }
  return best;
}

/** Rows of one cell's repetitions: figures only if every repetition ran and passed its check. */
function cellRows(runs: CellRuns, ctx: RowContext): { row: Omit<Row, 'limit' | 'ratio'>; limitNames: readonly string[]; ownLimit: number[] | undefined; ownLimitName?: string }[] {
  const outputs = runs.reps.flatMap((r) => (r.ok ? [r.output] : []));
  const failedRun = runs.reps.find((r) => !r.ok);
  const failedCheck = outputs.find((o) => !o.check.ok);
  const status: RowStatus = failedRun || failedCheck || outputs.length === 0 ? 'failed' : 'ok';
  const detail = failedRun && !failedRun.ok ? failedRun.error : failedCheck ? `check failed: ${failedCheck.check.detail}` : (outputs[0]?.check.detail ?? 'no repetition ran');
  const template = outputs[0]?.metrics ?? [];
  const base = { schema: ROW_SCHEMA as typeof ROW_SCHEMA, profile: ctx.profile, machine: ctx.machine, scenario: runs.plan.scenario, cell: runs.plan.id, system: runs.plan.system, params: runs.plan.params, status, detail };
  if (template.length === 0) return [{ row: { ...base, ...summarise([]), metric: '-', unit: 'msg/s', better: 'higher' }, limitNames: [], ownLimit: undefined }];
  return template.map((m, index) => {
    const values = outputs.map((o) => o.metrics.find((x) => x.name === m.name)?.value ?? Number.NaN);
    const summary = status === 'ok' ? summarise(values) : summarise([]);
    const medianRep = outputs[values.indexOf([...values].sort((a, b) => a - b)[(values.length - 1) >> 1]!)] ?? outputs[0];
    const own = m.ownLimit ? outputs.map((o) => o.metrics.find((x) => x.name === m.name)?.ownLimit?.value ?? Number.NaN) : undefined;
    return {
      row: {
        ...base,
        ...summary,
        metric: m.name,
        unit: m.unit,
        better: m.better,
        ...(outputs[0]?.confirmMeans ? { confirmMeans: outputs[0].confirmMeans } : {}),
        ...(index === 0 && medianRep?.distributions && status === 'ok' ? { distributions: medianRep.distributions } : {}),
      },
      limitNames: m.limits ?? [],
      ownLimit: own,
      ...(m.ownLimit ? { ownLimitName: m.ownLimit.name } : {}),
    };
  });
}

/** Builds every row of a run, limits first measured then applied to the figures they bound. */
export function buildRows(cells: readonly CellRuns[], skipped: readonly Skipped[], ctx: RowContext): Row[] {
  const pending = cells.flatMap((c) => cellRows(c, ctx));
  const limits = limitValues(pending.map((p) => p.row as Row));
  const rows = pending.map(({ row, limitNames, ownLimit, ownLimitName }): Row => {
    const own = ownLimit ? summarise(ownLimit).median : Number.NaN;
    const limit = Number.isFinite(own) && ownLimitName ? { name: ownLimitName, value: own } : bindingLimit(row.better, limitNames, limits);
    return limit && Number.isFinite(row.median) ? { ...row, limit, ratio: row.median / limit.value } : (row as Row);
  });
  for (const s of skipped) rows.push({ schema: ROW_SCHEMA as typeof ROW_SCHEMA, profile: ctx.profile, machine: ctx.machine, scenario: s.scenario, cell: s.cell, system: s.system, params: {}, metric: '-', unit: 'msg/s', better: 'higher', status: 'skipped', detail: s.reason, ...summarise([]) });
  return rows;
}

/** JSON lines, NaN written as null. */
export function toJsonLines(rows: readonly Row[]): string {
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))).join('\n') + (rows.length ? '\n' : '');
}

/** Reads JSON lines written by toJsonLines (null back to NaN); rows of another schema are refused. */
export function fromJsonLines(text: string): Row[] {
  const rows = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l, (_k, v: unknown) => (v === null ? Number.NaN : v)) as Row);
  const foreign = rows.find((r) => r.schema !== ROW_SCHEMA);
  if (foreign) throw new Error(`rows of schema ${String(foreign.schema)}, this harness reads schema ${ROW_SCHEMA}: rerun the old commit's bench to compare`);
  return rows;
}

/** The key `--compare` matches rows by. */
export function rowKey(row: Pick<Row, 'cell' | 'metric'>): string {
  return `${row.cell} / ${row.metric}`;
}
