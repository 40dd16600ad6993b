// Output format -> reporter. Every reporter takes the same Report and knows no check.
import type { Report } from '../runner.js';
import type { ReportContext } from './context.js';
import { escapeData, escapeProperty, html, renderGithub, tableCell } from './github.js';
import { escapeHtml, renderHtml } from './html.js';
import { jsonReport } from './json.js';
import { renderJunit, xmlAttr, xmlEscape } from './junit.js';
import { escapeLabel, renderPrometheus } from './prometheus.js';
import { renderSarif } from './sarif.js';
import { textReport } from './text.js';

export const FORMATS = ['text', 'json', 'sarif', 'junit', 'github', 'prometheus', 'html'] as const;
export type Format = (typeof FORMATS)[number];

export type { ReportContext };

interface Reporter {
  render(report: Report, ctx: ReportContext): string;
  /** How a secret would look once this format has escaped it, so that redaction finds it there too. */
  secretForms?(secret: string): string[];
}

const REPORTERS: Record<Format, Reporter> = {
  text: { render: (report, ctx) => textReport(report, { color: ctx.color ?? false, quiet: ctx.quiet }) },
  json: { render: (report) => JSON.stringify(jsonReport(report), null, 2) + '\n' },
  sarif: { render: renderSarif },
  junit: { render: renderJunit, secretForms: (s) => [xmlEscape(s), xmlAttr(s)] },
  // The job summary is Markdown with HTML-escaped text and table cells.
  github: { render: renderGithub, secretForms: (s) => [escapeData(s), escapeProperty(s), html(s), tableCell(s)] },
  prometheus: { render: renderPrometheus, secretForms: (s) => [escapeLabel(s)] },
  html: { render: renderHtml, secretForms: (s) => [escapeHtml(s)] },
};

export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

export function renderReport(format: Format, report: Report, ctx: ReportContext = {}): string {
  return REPORTERS[format].render(report, ctx);
}

/** The secret and its escaped forms in this format (JSON and URI forms are redact()'s own). */
export function secretFormsFor(format: Format, secrets: readonly string[]): string[] {
  const forms = REPORTERS[format].secretForms;
  return [...new Set(secrets.flatMap((s) => [s, ...(forms ? forms(s) : [])]))];
}

export { renderGithub, renderStepSummary } from './github.js';
export { renderHtml } from './html.js';
export { renderJunit } from './junit.js';
export { renderPrometheus } from './prometheus.js';
export { renderSarif, sarifReport } from './sarif.js';
