// The self-contained HTML report (placeholder until the charts land).
import type { Comparison } from './compare.ts';
import type { Row } from './rows.ts';

export interface HtmlInput {
  readonly title: string;
  readonly command: string;
  readonly rows: readonly Row[];
  readonly questions: ReadonlyMap<string, string>;
  readonly comparison?: readonly Comparison[];
  readonly comparedWith?: string;
}

export function renderHtml(input: HtmlInput): string {
  return `<!doctype html><title>${input.title}</title><pre>${input.rows.length} rows</pre>`;
}
