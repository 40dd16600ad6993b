// --format prometheus: the text exposition format, for node_exporter's textfile collector
// (--collector.textfile.directory). Write it with --output DIR/pg_preflight.prom: the file is
// replaced atomically, so the collector never reads half a file.
import { targetName } from '../config/target.js';
import type { Report } from '../runner.js';
import { STATUSES } from '../types.js';
import type { ReportContext } from './context.js';
import { countedStatus, isWaived, seenStatus, severity } from './findings.js';

/** Label values escape backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labels(values: Record<string, string>): string {
  return `{${Object.entries(values).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function metric(out: string[], name: string, help: string, samples: [Record<string, string> | undefined, number][]): void {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} gauge`);
  for (const [l, v] of samples) out.push(`${name}${l ? labels(l) : ''} ${Number.isInteger(v) ? v : v.toFixed(3)}`);
}

export function renderPrometheus(report: Report, ctx: ReportContext = {}): string {
  const out: string[] = [];
  const checks = report.targets.flatMap((t) => t.results.map((r) => ({ t, r })));
  const scale = STATUSES.map((s, i) => `${i} ${s}`).join(', ');
  metric(
    out,
    'pg_preflight_check_status',
    'Result of each check on each database: 1, with the worst status it found as the status label; waived="true" when a rules-file waiver accepts those findings.',
    checks.map(({ t, r }) => [{ database: targetName(t.target), check: r.id, status: seenStatus(r), waived: String(isWaived(r)) }, 1]),
  );
  metric(
    out,
    'pg_preflight_check_severity',
    `Worst status of each check that counts for --fail-on (waived findings do not), as a number: ${scale}.`,
    checks.map(({ t, r }) => [{ database: targetName(t.target), check: r.id }, severity(countedStatus(r))]),
  );
  const findings = new Map<string, { labels: Record<string, string>; count: number }>();
  for (const { t, r } of checks) {
    for (const f of r.findings) {
      const labels = { database: t.target.label, check: r.id, code: f.code, status: f.status, waived: String(Boolean(f.waived)) };
      const key = JSON.stringify(labels);
      const entry = findings.get(key) ?? { labels, count: 0 };
      entry.count++;
      findings.set(key, entry);
    }
  }
  metric(
    out,
    'pg_preflight_findings',
    'Findings of each check on each database by code and status (code as the check declares it, see pg-preflight explain <check>).',
    [...findings.values()].map((e) => [e.labels, e.count]),
  );
  metric(
    out,
    'pg_preflight_database_up',
    '1 when pg-preflight reached the database and ran its checks, 0 when it could not connect.',
    report.targets.map((t) => [{ database: targetName(t.target), datname: t.facts?.database ?? t.target.connection.database }, t.error ? 0 : 1]),
  );
  metric(out, 'pg_preflight_last_run_timestamp_seconds', 'When pg-preflight last finished a run, in seconds since the epoch.', [
    [undefined, Math.round((ctx.now ?? new Date()).getTime() / 1000)],
  ]);
  metric(out, 'pg_preflight_run_duration_seconds', 'How long the last run took, connections included, in seconds.', [[undefined, report.durationMs / 1000]]);
  return out.join('\n') + '\n';
}
