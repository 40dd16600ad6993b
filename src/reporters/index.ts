// Output format -> reporter. Every reporter takes the same Report and knows no check. A run uses
// one or two formats, so each reporter's module is imported only when its format is asked for
// (start-up time: bench/startup.ts).
import type { Report } from '../runner.js';
import type { ReportContext } from './context.js';

export const FORMATS = ['text', 'json', 'sarif', 'junit', 'github', 'prometheus', 'html'] as const;
export type Format = (typeof FORMATS)[number];

export type { ReportContext };

export interface Reporter {
  render(report: Report, ctx: ReportContext): string;
  /** How a secret would look once this format has escaped it, so that redaction finds it there too. */
  secretForms?(secret: string): string[];
}

const LOADERS: Record<Format, () => Promise<Reporter>> = {
  text: async () => {
    const { textReport } = await import('./text.js');
    return { render: (report, ctx) => textReport(report, { color: ctx.color ?? false, quiet: ctx.quiet }) };
  },
  json: async () => {
    const { jsonReport } = await import('./json.js');
    return { render: (report) => JSON.stringify(jsonReport(report), null, 2) + '\n' };
  },
  sarif: async () => ({ render: (await import('./sarif.js')).renderSarif }),
  junit: async () => {
    const { renderJunit, xmlAttr, xmlEscape } = await import('./junit.js');
    return { render: renderJunit, secretForms: (s) => [xmlEscape(s), xmlAttr(s)] };
  },
  github: async () => {
    const { escapeData, escapeProperty, html, renderGithub, tableCell } = await import('./github.js');
    // The job summary is Markdown with HTML-escaped text and table cells.
    return { render: renderGithub, secretForms: (s) => [escapeData(s), escapeProperty(s), html(s), tableCell(s)] };
  },
  prometheus: async () => {
    const { escapeLabel, renderPrometheus } = await import('./prometheus.js');
    return { render: renderPrometheus, secretForms: (s) => [escapeLabel(s)] };
  },
  html: async () => {
    const { escapeHtml, renderHtml } = await import('./html.js');
    return { render: renderHtml, secretForms: (s) => [escapeHtml(s)] };
  },
};

export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

export function loadReporter(format: Format): Promise<Reporter> {
  return LOADERS[format]();
}

export async function renderReport(format: Format, report: Report, ctx: ReportContext = {}): Promise<string> {
  return (await loadReporter(format)).render(report, ctx);
}

/** The secret and its escaped forms in this format (JSON and URI forms are redact()'s own). */
export function secretFormsOf(reporter: Reporter, secrets: readonly string[]): string[] {
  const forms = reporter.secretForms;
  return [...new Set(secrets.flatMap((s) => [s, ...(forms ? forms(s) : [])]))];
}

export async function secretFormsFor(format: Format, secrets: readonly string[]): Promise<string[]> {
  return secretFormsOf(await loadReporter(format), secrets);
}
