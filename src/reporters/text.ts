import { Chalk, type ChalkInstance } from 'chalk';
import type { PreflightError } from '../errors.js';
import type { Report, TargetReport } from '../runner.js';
import { checkedAtText, describeTarget, hostChoiceText, hostText, targetName } from '../config/target.js';
import { countedStatus } from '../rules/apply.js';
import { STATUSES, statusAtLeast, type CheckResult, type Finding, type Remediation, type Status } from '../types.js';
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

function waivedNote(f: Finding): string {
  return f.waived ? `waived (${f.status})${f.waived.expires ? ` until ${f.waived.expires}` : ''}: ${f.waived.reason}` : '';
}

/** A result whose problems a waiver accepts shows as "waived", with what the check said. */
function fullyWaived(r: CheckResult): boolean {
  return countedStatus(r) !== r.status && !statusAtLeast(countedStatus(r), 'warning');
}

function renderResult(r: CheckResult, c: ChalkInstance, multiDb: boolean, printed: Map<string, string>): string[] {
  const shown = countedStatus(r);
  const waived = fullyWaived(r);
  const mark = waived ? c.dim(`~ ${'waived'.padEnd(7)}`) : paint(c, shown, `${MARKS[shown]} ${shown.padEnd(7)}`);
  const lines = [`${mark} ${c.bold(r.id)}${multiDb ? c.dim(` [${r.database}]`) : ''}: ${r.message}`];
  const listed = r.findings.filter((f) => f.status !== 'ok');
  // One problem is already the headline; several are listed under a headline that counts them.
  if (listed.length > 1) {
    for (const f of listed) {
      const prefix = f.object && !f.message.startsWith(f.object) ? `${f.object}: ` : '';
      lines.push(`    ${paint(c, f.status, MARKS[f.status])} ${prefix}${f.message}${f.waived ? c.dim(` (${waivedNote(f)})`) : ''}`);
    }
  } else if (listed.length === 1 && listed[0]!.waived) {
    lines.push(`   ${c.dim(waivedNote(listed[0]!))}`);
  }
  // An accepted finding's fix is in --format json and "explain"; repeating it on every start is noise.
  if (r.remediation.length > 0 && r.status !== 'ok' && !waived) {
    lines.push(`   ${c.underline('How to fix')}:`, ...renderRemediation(r.remediation, c, printed, r.id));
  }
  return lines;
}

function header(t: TargetReport, c: ChalkInstance): string {
  const d = describeTarget(t.target);
  const server = t.facts ? `, PostgreSQL ${t.facts.version}` : '';
  return c.bold(`Database ${targetName(t.target)}: "${d.database}" at ${checkedAtText(t.target, t.connectedTo)} as ${d.user}${server}`);
}

/** With several hosts: which one was checked, and why not each of the others. */
function hostChoiceLines(t: TargetReport, c: ChalkInstance): string[] {
  if (!t.connectedTo) return [];
  const lines = [c.dim(`  ${hostChoiceText(t.target, t.connectedTo)}`)];
  for (const p of t.passedOver ?? []) lines.push(c.dim(`  passed over ${hostText(p)}: ${p.reason}`));
  return lines;
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
  const waived = report.targets.reduce((n, t) => n + t.results.reduce((m, r) => m + r.findings.filter((f) => f.waived).length, 0), 0);
  const waivedText = waived > 0 ? `; ${waived} finding${waived > 1 ? 's' : ''} waived` : '';
  return `${parts.join(', ') || 'no checks ran'}${waivedText} (${Math.round(report.durationMs)} ms)`;
}

/** One line saying which rules file shaped the report, so that nothing is silently turned off. */
export function rulesLine(report: Report): string | undefined {
  const r = report.rules;
  if (!r) return undefined;
  const parts: string[] = [];
  if (r.off.length > 0) parts.push(`off: ${r.off.join(', ')}`);
  const sev = Object.entries(r.severity);
  if (sev.length > 0) parts.push(`severity: ${sev.map(([id, s]) => `${id} ${s}`).join(', ')}`);
  const active = r.waivers.filter((w) => !w.expired).length;
  const expired = r.waivers.length - active;
  if (r.waivers.length > 0) parts.push(`${active} waiver${active === 1 ? '' : 's'} in force${expired ? `, ${expired} expired` : ''}`);
  return `Rules: ${r.file ?? 'given in code'}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

export function textReport(report: Report, opts: TextOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const multiDb = report.targets.length > 1;
  const out: string[] = [];
  if (!opts.quiet) out.push(c.dim(`${TOOL.name} ${TOOL.version}`));
  for (const t of report.targets) {
    const shown = opts.quiet ? t.results.filter((r) => statusAtLeast(countedStatus(r), 'warning')) : t.results;
    if (opts.quiet && shown.length === 0 && !t.error) continue;
    out.push(header(t, c), ...hostChoiceLines(t, c));
    if (t.error) out.push(renderError(t.error, c, 'cannot check'));
    const printed = new Map<string, string>();
    for (const r of shown) out.push(...renderResult(r, c, multiDb, printed));
    out.push('');
  }
  const rules = rulesLine(report);
  if (rules && !opts.quiet) out.push(c.dim(rules));
  if (!opts.quiet || out.length > 0) out.push(`Summary: ${summaryLine(report)}`);
  return out.join('\n') + '\n';
}
