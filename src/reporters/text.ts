import { Chalk, type ChalkInstance } from 'chalk';
import type { PreflightError } from '../errors.js';
import type { Report, TargetReport } from '../runner.js';
import { describeTarget } from '../config/target.js';
import { STATUSES, type CheckResult, type Finding, type Remediation, type Status } from '../types.js';
import { TOOL } from '../version.js';

export interface TextOptions {
  color: boolean;
  /** Only what needs attention: nothing at all when every check is fine. */
  quiet?: boolean;
}

const MARKS: Record<Status, string> = { ok: '✔', skipped: '-', info: 'i', warning: '!', error: '✖', failed: '✖' };

function paint(c: ChalkInstance, status: Status, text: string): string {
  switch (status) {
    case 'ok': return c.green(text);
    case 'skipped': return c.dim(text);
    case 'info': return c.cyan(text);
    case 'warning': return c.yellow(text);
    default: return c.red(text);
  }
}

/**
 * Remediation steps: text as prose, commands as unindented blocks so they paste as they are.
 * A block already printed for an earlier check of the same database is referred to, not repeated.
 */
export function renderRemediation(steps: Remediation[], c: ChalkInstance, printed?: Map<string, string>, owner?: string): string[] {
  const lines: string[] = [];
  steps.forEach((step, i) => {
    const n = `${i + 1}.`;
    const earlier = printed?.get(step.text);
    if (earlier) {
      const note = c.dim(`the same as under ${earlier} above`);
      // Consecutive repeats fold into one "1.-3." line.
      const prev = lines.length > 0 ? /^ {3}(\d+)\.(?:-\d+\.)? (.*)$/.exec(lines[lines.length - 1]!) : null;
      if (prev && prev[2] === note) lines[lines.length - 1] = `   ${prev[1]}.-${n} ${note}`;
      else lines.push(`   ${n} ${note}`);
      return;
    }
    if (owner && step.text.length > 80) printed?.set(step.text, owner);
    if (step.kind === 'text') {
      lines.push(`   ${n} ${step.text}`);
      return;
    }
    lines.push(`   ${n} ${step.title ?? ''}${step.title ? ' ' : ''}${c.dim(`(${step.kind})`)}`, '');
    lines.push(...step.text.split('\n').map((l) => c.bold(l)), '');
  });
  return lines;
}

/** A waived finding is shown as it is, with the waiver that accepts it. */
function waivedNote(f: Finding | undefined, c: ChalkInstance): string {
  return f?.waived ? c.dim(` [waived: ${f.waived.reason}${f.waived.expires ? `, until ${f.waived.expires}` : ''}]`) : '';
}

function renderResult(r: CheckResult, c: ChalkInstance, multiDb: boolean, printed: Map<string, string>): string[] {
  const mark = paint(c, r.status, `${MARKS[r.status]} ${r.status.padEnd(7)}`);
  const only = r.findings.length === 1 ? r.findings[0] : undefined;
  const lines = [`${mark} ${c.bold(r.id)}${multiDb ? c.dim(` [${r.database}]`) : ''}: ${r.message}${waivedNote(only, c)}`];
  if (r.findings.length > 1) {
    for (const f of r.findings) {
      if (f.status === 'ok') continue;
      lines.push(`    ${paint(c, f.status, MARKS[f.status])} ${f.object ? `${f.object}: ` : ''}${f.message}${waivedNote(f, c)}`);
    }
  }
  if (r.remediation.length > 0 && r.status !== 'ok') {
    lines.push(`   ${c.underline('How to fix')}:`, ...renderRemediation(r.remediation, c, printed, r.id));
  }
  return lines;
}

function header(t: TargetReport, c: ChalkInstance): string {
  const d = describeTarget(t.target);
  const where = d.host.startsWith('/') ? `socket ${d.host}` : `${d.host}:${d.port}`;
  const server = t.facts ? `, PostgreSQL ${t.facts.version}` : '';
  return c.bold(`Database ${t.target.label}: "${d.database}" at ${where} as ${d.user}${server}`);
}

export function renderError(err: PreflightError, c: ChalkInstance, prefix = 'pg-preflight'): string {
  const lines = [`${c.red(`${prefix}: ${err.message}`)} ${c.dim(`[${err.code}]`)}`];
  if (err.remediation.length > 0) lines.push(`   ${c.underline('How to fix')}:`, ...renderRemediation(err.remediation, c));
  return lines.join('\n');
}

export function summaryLine(report: Report): string {
  const parts = [...STATUSES].reverse().filter((s) => report.summary[s] > 0).map((s) => `${report.summary[s]} ${s}`);
  const failedTargets = report.targets.filter((t) => t.error).length;
  if (failedTargets > 0) parts.unshift(`${failedTargets} database${failedTargets > 1 ? 's' : ''} not reached`);
  return `${parts.join(', ') || 'no checks ran'} (${Math.round(report.durationMs)} ms)`;
}

export function textReport(report: Report, opts: TextOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const multiDb = report.targets.length > 1;
  const out: string[] = [];
  if (!opts.quiet) out.push(c.dim(`${TOOL.name} ${TOOL.version}`));
  for (const t of report.targets) {
    const shown = opts.quiet ? t.results.filter((r) => !['ok', 'skipped', 'info'].includes(r.status)) : t.results;
    if (opts.quiet && shown.length === 0 && !t.error) continue;
    out.push(header(t, c));
    if (t.error) out.push(renderError(t.error, c, 'cannot check'));
    const printed = new Map<string, string>();
    for (const r of shown) out.push(...renderResult(r, c, multiDb, printed));
    out.push('');
  }
  if (!opts.quiet || out.length > 0) out.push(`Summary: ${summaryLine(report)}`);
  return out.join('\n') + '\n';
}
