// The metrics snapshot in the Prometheus text exposition format (version 0.0.4), with
// OpenTelemetry names translated the standard way (the OTel → Prometheus compatibility spec):
// dots and other invalid characters become `_`, the unit is appended as a word (`s` → `seconds`,
// `By` → `bytes`; annotations such as `{message}` are dropped), and counters end in `_total`.
// The instruments themselves are listed in metric-instruments.ts. Pure: runs on the caller's
// thread over a snapshot that is already plain data.
import { metricInstruments, type Instrument } from './metric-instruments.ts';
import type { FerryMetrics } from './metrics.ts';

type Kind = Instrument['kind'];
type Labels = Readonly<Record<string, string>>;

const UNIT_WORDS: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes', '1': 'ratio' };

/** The Prometheus name of an OpenTelemetry instrument: `messaging.client.sent.messages` + `{message}` counter → `messaging_client_sent_messages_total`. */
export function prometheusName(otelName: string, unit: string, kind: Kind): string {
  let name = otelName.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  const word = unit.startsWith('{') ? '' : (UNIT_WORDS[unit] ?? unit.replace(/[^a-zA-Z0-9_:]/g, '_'));
  if (word && !name.endsWith(`_${word}`)) name += `_${word}`;
  if (kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A label name as OTel's translation gives it: `messaging.destination.name` → `messaging_destination_name`. */
function labelName(attribute: string): string {
  return attribute.replace(/[^a-zA-Z0-9_]/g, '_');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Label names translated, values as strings. */
function promLabels(labels: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [labelName(k), String(v)]));
}

/** One sample of a family: its full name (a histogram's `_bucket`, `_sum`, `_count`), labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric family, with Prometheus names: what the text shows and what a prom-client registry gets. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: Kind;
  readonly samples: readonly Sample[];
}

function num(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** One instrument as a Prometheus family: its name translated, its points as samples (a histogram's as cumulative buckets, sum and count). */
function family(i: Instrument): Family {
  const name = prometheusName(i.name, i.unit, i.kind);
  if (i.kind !== 'histogram') return { name, help: i.description, type: i.kind, samples: i.points.map(([labels, value]) => ({ name, labels: promLabels(labels), value })) };
  const samples: Sample[] = [];
  for (const [labels, h] of i.points) {
    const base = promLabels(labels);
    let cumulative = 0;
    h.boundsSeconds.forEach((le, b) => {
      cumulative += h.counts[b] ?? 0;
      samples.push({ name: `${name}_bucket`, labels: { ...base, le: num(le) }, value: cumulative });
    });
    samples.push({ name: `${name}_bucket`, labels: { ...base, le: '+Inf' }, value: h.count }, { name: `${name}_sum`, labels: base, value: h.sumSeconds }, { name: `${name}_count`, labels: base, value: h.count });
  }
  return { name, help: i.description, type: 'histogram', samples };
}

/** Renders families as Prometheus text, each with its HELP and TYPE once. */
export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${s.name}${labelText(s.labels)} ${num(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Renders a snapshot as Prometheus text (`Content-Type: text/plain; version=0.0.4`). */
export function metricsText(m: FerryMetrics): string {
  return renderFamilies(metricFamilies(m));
}

/** The snapshot as metric families with Prometheus names (the same every time, whatever the figures). */
export function metricFamilies(m: FerryMetrics): Family[] {
  return metricInstruments(m).map(family);
}

/** Renders instruments as Prometheus text (a backend with figures of its own lists them: backends/nats). */
export function instrumentsText(instruments: readonly Instrument[]): string {
  return renderFamilies(instruments.map(family));
}
