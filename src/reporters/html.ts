// --format html: one self-contained page (no network, no external fonts or scripts) for a
// customer, a ticket or a CI artifact. It reads on paper (print CSS) and on a phone (viewport,
// wrapping blocks). Every value from the report is escaped with escapeHtml; the only script is
// the copy button's, inline, allowed by a Content-Security-Policy hash, so that even markup that
// slipped through could neither run nor load anything. Without JavaScript the fix blocks are
// plain <pre> text to select.
import { createHash } from 'node:crypto';
import type { Report, TargetReport } from '../runner.js';
import { describeTarget, targetName } from '../config/target.js';
import { STATUSES, type CheckResult, type Finding, type Remediation, type Status } from '../types.js';
import { TOOL } from '../version.js';
import type { ReportContext } from './context.js';
import { countedStatus, waiverText } from './findings.js';
import { HTML_STYLE, HTML_SCRIPT } from './html-assets.js';
import { rulesLine, summaryLine } from './text.js';

/** Text and attribute values alike: the five characters HTML gives meaning to. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const e = escapeHtml;

/** Groups in reading order: what needs doing first. A waived finding is its own group. */
const GROUPS = ['failed', 'error', 'warning', 'info', 'waived', 'skipped', 'ok'] as const;
type Group = (typeof GROUPS)[number];

const GROUP_TITLES: Record<Group, string> = {
  failed: 'Checks that could not run',
  error: 'Errors',
  warning: 'Warnings',
  info: 'Notes',
  waived: 'Waived (accepted in the rules file, not counted)',
  skipped: 'Skipped',
  ok: 'Passed',
};

function groupOf(f: Finding): Group {
  return f.waived ? 'waived' : f.status;
}

const KIND_LABEL: Record<Remediation['kind'], string> = { sql: 'SQL', shell: 'shell', config: 'config', text: '' };

/** Within one database, a long block printed once already is pointed to, not repeated. */
class FixBlocks {
  private readonly seen = new Map<string, string>();
  private next = 0;
  constructor(private readonly prefix: string) {}

  render(steps: Remediation[]): string {
    const items = steps.map((s) => {
      if (s.kind === 'text') return `<li><p>${e(s.text)}</p></li>`;
      const head = `<p class="step">${s.title ? `${e(s.title)} ` : ''}<span class="kind">(${KIND_LABEL[s.kind]})</span></p>`;
      const earlier = this.seen.get(s.text);
      if (earlier) return `<li>${head}<p class="same">The same block as <a href="#${earlier}">above</a>.</p></li>`;
      const id = `${this.prefix}-fix-${this.next++}`;
      if (s.text.length > 80) this.seen.set(s.text, id);
      return `<li>${head}<div class="block"><pre id="${id}" data-kind="${s.kind}"><code>${e(s.text)}</code></pre></div></li>`;
    });
    return `<div class="fix"><p class="fix-head">How to fix</p><ol>${items.join('')}</ol></div>`;
  }
}

function findingRow(r: CheckResult, f: Finding, database: string | undefined, fixes: FixBlocks): string {
  const group = groupOf(f);
  const object = f.object && f.object !== database ? `<span class="object">${e(f.object)}</span>` : '';
  const badge = group === 'waived' ? `waived ${f.status}` : f.status;
  const parts = [
    `<li class="finding s-${group}" data-check="${e(r.id)}" data-status="${f.status}"${f.waived ? ' data-waived="true"' : ''}>`,
    `<p class="head"><span class="badge b-${group}">${e(badge)}</span> <code class="check">${e(r.id)}</code>${object ? ` ${object}` : ''}</p>`,
    `<p class="message">${e(f.message)}</p>`,
  ];
  if (f.waived) parts.push(`<p class="waiver">${e(waiverText(f.waived))}</p>`);
  // An accepted finding's fix stays available: the reader of a hand-over may want to do it anyway.
  if (f.remediation && f.remediation.length > 0 && f.status !== 'ok') parts.push(fixes.render(f.remediation));
  parts.push('</li>');
  return parts.join('');
}

function counts(t: TargetReport): string {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const r of t.results) byStatus[countedStatus(r)]++;
  const waived = t.results.reduce((n, r) => n + r.findings.filter((f) => f.waived).length, 0);
  const cells = [...STATUSES].reverse().map((s) => `<td class="n s-${s}">${byStatus[s]}</td>`);
  return [
    '<table class="counts"><thead><tr>',
    ...[...STATUSES].reverse().map((s) => `<th scope="col">${s}</th>`),
    '<th scope="col">waived</th></tr></thead><tbody><tr>',
    ...cells,
    `<td class="n">${waived}</td></tr></tbody></table>`,
  ].join('');
}

function targetSection(t: TargetReport, index: number): string {
  const d = describeTarget(t.target);
  // With several hosts, the one checked, and why not the others.
  const at = t.connectedTo ?? d;
  const where = at.host.startsWith('/') ? `socket ${at.host}` : `${at.host}:${at.port}`;
  const prefix = `db${index}`;
  const meta: [string, string][] = [
    ['database', d.database],
    ['server', t.connectedTo ? `${where}: ${t.connectedTo.why}` : where],
    ...(t.passedOver ?? []).map((p): [string, string] => ['passed over', `${p.host}:${p.port}: ${p.reason}`]),
    ['user', d.user],
    ['PostgreSQL', t.facts?.version ?? 'not reached'],
    ['checks', String(t.results.length)],
    ['time', `${Math.round(t.durationMs)} ms`],
  ];
  const out = [
    `<section class="target" id="${prefix}" aria-labelledby="${prefix}-h">`,
    `<h2 id="${prefix}-h">Database ${e(targetName(t.target))}</h2>`,
    `<dl class="meta">${meta.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`,
  ];
  const fixes = new FixBlocks(prefix);
  if (t.error) {
    out.push(
      `<div class="finding s-failed unreachable"><p class="head"><span class="badge b-failed">not checked</span> <code class="check">${e(t.error.code)}</code></p>`,
      `<p class="message">${e(t.error.message)}</p>${t.error.remediation.length > 0 ? fixes.render(t.error.remediation) : ''}</div>`,
    );
  }
  if (t.results.length > 0) out.push(counts(t));
  const rows = new Map<Group, string[]>(GROUPS.map((g) => [g, []]));
  for (const r of t.results) for (const f of r.findings) rows.get(groupOf(f))!.push(findingRow(r, f, t.facts?.database, fixes));
  for (const g of GROUPS) {
    const list = rows.get(g)!;
    if (list.length === 0) continue;
    out.push(
      `<section class="group g-${g}" data-group="${g}"><h3>${GROUP_TITLES[g]} <span class="count">(${list.length})</span></h3>`,
      `<ol class="findings">${list.join('\n')}</ol></section>`,
    );
  }
  out.push('</section>');
  return out.join('\n');
}

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export function renderHtml(report: Report, ctx: ReportContext = {}): string {
  const now = ctx.now ?? new Date();
  const labels = report.targets.map((t) => `${targetName(t.target)} (${describeTarget(t.target).database})`).join(', ');
  const rules = rulesLine(report);
  const meta: [string, string][] = [
    ['tool', `${TOOL.name} ${TOOL.version}`],
    ['when', now.toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ['servers', report.targets.map((t) => `${targetName(t.target)}: ${t.facts ? `PostgreSQL ${t.facts.version}` : 'not reached'}`).join('; ') || 'none'],
    ['took', `${Math.round(report.durationMs)} ms`],
    ...(rules ? ([['rules', rules.replace(/^Rules: /, '')]] as [string, string][]) : []),
  ];
  // No default-src of any kind: the page may load nothing, not even an image or a font.
  const csp = `default-src 'none'; style-src ${cspHash(HTML_STYLE)}; script-src ${cspHash(HTML_SCRIPT)}; base-uri 'none'; form-action 'none'`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<meta name="generator" content="${e(`${TOOL.name} ${TOOL.version}`)}">`,
    `<title>${e(`${TOOL.name} report: ${labels || 'no database'}`)}</title>`,
    `<style>${HTML_STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${e(TOOL.name)} report</h1>`,
    `<p class="summary" id="summary">${e(summaryLine(report))}</p>`,
    `<dl class="meta run">${meta.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl>`,
    '</header>',
    '<main>',
    ...report.targets.map((t, i) => targetSection(t, i)),
    '</main>',
    `<script>${HTML_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
