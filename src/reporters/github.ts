// --format github: GitHub Actions workflow commands, one annotation per problem finding
// (::error, ::warning, ::notice), and a Markdown job summary for $GITHUB_STEP_SUMMARY.
// Every value is escaped as the Actions toolkit escapes it, so no message (a database name,
// an object name) can end an annotation early or start a command of its own.
import type { Report, TargetReport } from '../runner.js';
import { describeTarget, targetName } from '../config/target.js';
import type { CheckResult, Finding, Remediation, ReportedFinding, Status } from '../types.js';
import { TOOL } from '../version.js';
import type { ReportContext } from './context.js';
import { findingLine, isProblem, isWaived, remediationText } from './findings.js';
import { ConfigLocator, displayPath } from './locate.js';
import { summaryLine } from './text.js';

/** The message part of a command: %, CR and LF are encoded (actions/toolkit escapeData). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value: as data, plus the `:` and `,` that separate properties (escapeProperty). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(command: string, properties: Record<string, string | number | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

function commandFor(f: Finding): 'error' | 'warning' | 'notice' {
  if (f.waived) return 'notice';
  if (f.status === 'error' || f.status === 'failed') return 'error';
  return f.status === 'warning' ? 'warning' : 'notice';
}

function annotation(t: TargetReport, r: CheckResult, f: ReportedFinding, multiDb: boolean, locator: ConfigLocator, baseDir: string): string {
  const where = locator.locate(t.target, f);
  const title = `${r.id}${multiDb ? ` [${targetName(t.target)}]` : ''}: ${f.waived ? `${f.status}, waived` : f.status}`;
  const steps = f.remediation ?? [];
  const line = findingLine(f, t.facts?.database);
  const message = `${steps.length > 0 ? `${line}\n\nHow to fix:\n${remediationText(steps)}` : line}\n\nCode: ${r.id}/${f.code}`;
  return workflowCommand(
    commandFor(f),
    { title, file: where ? displayPath(where.file, baseDir).path : undefined, line: where?.line },
    message,
  );
}

export function renderGithub(report: Report, ctx: ReportContext = {}): string {
  // In a workflow, $GITHUB_WORKSPACE is the checkout: the CLI passes it as baseDir.
  const baseDir = ctx.baseDir ?? process.cwd();
  const locator = new ConfigLocator();
  const multiDb = report.targets.length > 1;
  const lines: string[] = [];
  for (const t of report.targets) {
    if (t.error) {
      lines.push(workflowCommand('error', { title: `${TOOL.name}: database ${targetName(t.target)} could not be checked` }, `${t.error.message} [${t.error.code}]${t.error.remediation.length ? `\n\nHow to fix:\n${remediationText(t.error.remediation)}` : ''}`));
    }
    for (const r of t.results) for (const f of r.findings) if (isProblem(f)) lines.push(annotation(t, r, f, multiDb, locator, baseDir));
  }
  lines.push(`${TOOL.name}: ${summaryLine(report)}`);
  return lines.join('\n') + '\n';
}

// ---- the job summary ----

const MARKS: Record<Status, string> = { ok: '✅', skipped: '⏭️', info: 'ℹ️', warning: '⚠️', error: '❌', failed: '❌' };

export function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function tableCell(text: string): string {
  return html(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A fence longer than any run of backticks in the text, so the text cannot close it. */
function fenced(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

const LANG: Record<Remediation['kind'], string> = { sql: 'sql', shell: 'sh', config: 'yaml', text: '' };

function remediationMarkdown(steps: Remediation[]): string[] {
  return steps.flatMap((s, i) =>
    s.kind === 'text' ? [`${i + 1}. ${html(s.text)}`, ''] : [`${i + 1}. ${html(s.title ?? s.kind)}`, '', fenced(s.text, LANG[s.kind]), ''],
  );
}

/** Findings and fix steps listed per check; a 10,000-sequence report lists the rest in the log. */
const SUMMARY_ITEMS = 20;
/** GitHub refuses a step summary over 1 MiB; stay under it with room for the closing note. */
const SUMMARY_MAX_BYTES = 1000 * 1000;

function more(n: number, what: string): string {
  return `… and ${n} more ${what} (all of them are in the annotations and the job log)`;
}

export function renderStepSummary(report: Report, _ctx: ReportContext = {}): string {
  // Built from whole blocks (a heading, a table, one check's fixes), so that when the size limit
  // stops it, no table or code block is left open.
  const blocks: string[] = [];
  for (const t of report.targets) {
    const d = describeTarget(t.target);
    const head = [`### Database ${html(targetName(t.target))}: ${html(d.database)} at ${html(d.host)}:${d.port}${t.facts ? `, PostgreSQL ${html(t.facts.version)}` : ''}`, ''];
    if (t.error) head.push(`❌ could not be checked: ${html(t.error.message)} [${t.error.code}]`, '');
    blocks.push(head.join('\n'));
    if (t.results.length === 0) continue;
    const table = ['| | check | status | what it found |', '| --- | --- | --- | --- |'];
    for (const r of t.results) {
      const shown = r.findings.filter((f) => f.status !== 'ok');
      const lines = shown.slice(0, SUMMARY_ITEMS).map((f) => findingLine(f, t.facts?.database));
      if (shown.length > SUMMARY_ITEMS) lines.push(more(shown.length - SUMMARY_ITEMS, 'findings'));
      const text = lines.length > 0 ? lines.join('\n') : r.message;
      table.push(`| ${MARKS[r.status]} | \`${r.id}\` | ${r.status}${isWaived(r) ? ' (waived)' : ''} | ${tableCell(text)} |`);
    }
    blocks.push(table.join('\n') + '\n');
    for (const r of t.results) {
      if (r.status === 'ok' || r.remediation.length === 0) continue;
      const steps = r.remediation.slice(0, SUMMARY_ITEMS);
      const fix = [`<details><summary>How to fix <code>${html(r.id)}</code></summary>`, '', ...remediationMarkdown(steps)];
      if (r.remediation.length > steps.length) fix.push(more(r.remediation.length - steps.length, 'steps'), '');
      fix.push('</details>', '');
      blocks.push(fix.join('\n'));
    }
  }
  const out = [`## ${TOOL.name}: ${html(summaryLine(report))}\n`];
  let bytes = Buffer.byteLength(out[0]!);
  for (const block of blocks) {
    bytes += Buffer.byteLength(block) + 1;
    if (bytes > SUMMARY_MAX_BYTES) {
      out.push('**The summary stops here: GitHub allows 1 MiB.** Every finding is in the annotations and the job log.\n');
      break;
    }
    out.push(block);
  }
  return out.join('\n');
}
