// Text and JSON output of `pg-preflight fix`, from the same FixReport.
import { Chalk } from 'chalk';
import { checkedAtText, describeTarget, givenHosts, hostChoiceText } from './config/target.js';
import type { FixReport, FixTargetReport, PlannedFix, Unfixable } from './fix.js';
import { renderError } from './reporters/text.js';
import { TOOL } from './version.js';

function header(t: FixTargetReport, c: InstanceType<typeof Chalk>): string {
  const d = describeTarget(t.target);
  // Several hosts: the one the plan (or the apply) was made on, as check's report says it.
  const lines = [c.bold(`Database ${t.target.label}: "${d.database}" at ${checkedAtText(t.target, t.connectedTo)} as ${d.user}${t.serverVersion ? `, PostgreSQL ${t.serverVersion}` : ''}`)];
  if (t.connectedTo) lines.push(c.dim(`  ${hostChoiceText(t.target, t.connectedTo)}`));
  return lines.join('\n');
}

function isPlanned(x: PlannedFix | Unfixable): x is PlannedFix {
  return 'sql' in x;
}

function targetText(t: FixTargetReport, report: FixReport, c: InstanceType<typeof Chalk>): string[] {
  const out = [header(t, c)];
  if (t.error) return [...out, renderError(t.error, c, 'cannot fix')];
  if (t.plan.length === 0) out.push(`${c.green('✔')} Nothing to fix: no sequence is behind its table, no stream position is ahead of its sequence.`);
  else {
    out.push(`Plan: ${t.plan.length} statement${t.plan.length > 1 ? 's' : ''}, each moving a sequence forward only (run in this order):`);
    // The SQL is what a dry run is for; once applied, the before and after below tell the story.
    const withSql = !report.apply || t.refused !== undefined;
    t.plan.forEach((p, i) => {
      out.push(`  ${i + 1}. ${p.summary} ${c.dim(`[${p.check}]`)}`);
      if (withSql) out.push('', c.bold(p.sql), '');
    });
  }
  if (t.unfixable.length > 0) {
    out.push('Left alone by fix (see "pg-preflight check" for what to do):');
    for (const u of t.unfixable) out.push(`  - ${u.status} ${c.dim(`[${u.check}]`)} ${u.message}`);
  }
  if (t.refused) {
    const n = t.refused.sessions.length;
    out.push(c.red(`Refused: ${n} other session${n > 1 ? 's are' : ' is'} connected to "${t.target.connection.database}"; nothing was changed:`));
    for (const s of t.refused.sessions) {
      out.push(`  pid ${s.pid}  user ${s.user ?? '?'}  application ${s.applicationName || '(none)'}  from ${s.clientAddr ?? 'the Unix socket'}  ${s.state ?? ''}`.trimEnd());
    }
    out.push('Stop Synapse and every worker (and anything else using the database), then run again; --force applies anyway, for sessions you know do not write.');
  }
  if (t.applied) {
    const b = t.batches;
    if (!b || b.count === 1) out.push(`Applied in one transaction, each sequence locked against writers while its value was read and set:`);
    else {
      out.push(
        `Applied in ${b.count} transactions (more sequences than one transaction may lock within the lock budget of ${b.lockBudget}), each atomic, in order: ` +
          `${b.committed === b.count ? 'all committed' : `${b.committed} committed`}:`,
      );
    }
    for (const a of t.applied) {
      const where = b && b.count > 1 ? ` ${c.dim(`[batch ${a.batch}]`)}` : '';
      if (a.refused) {
        out.push(`  ${c.red('✘')} ${a.object}: ${a.refused}${where}`);
        continue;
      }
      const change = a.changed ? `${a.before.lastValue} → ${a.after.lastValue}` : `unchanged at ${a.after.lastValue}`;
      out.push(`  ${a.changed ? c.green('✔') : '-'} ${a.object}: ${change}${a.after.isCalled ? '' : ' (not yet handed out)'}${where}`);
    }
  }
  if (t.applyError) out.push(c.red(`Stopped: ${t.applyError}`));
  if (t.remaining) {
    if (t.remaining.length === 0) out.push(c.green('Verified under the lock: no sequence is behind, no stream position is ahead.'));
    else {
      out.push(c.red(`Verified under the lock: ${t.remaining.length} still need${t.remaining.length > 1 ? '' : 's'} attention:`));
      for (const r of t.remaining) out.push(`  - ${isPlanned(r) ? r.summary : r.message}`);
    }
  }
  if (!report.apply && t.plan.length > 0) out.push(c.dim('Nothing was changed. Stop Synapse and every worker, then run again with --apply.'));
  return out;
}

export function fixTextReport(report: FixReport, opts: { color: boolean }): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const out = [c.dim(`${TOOL.name} ${TOOL.version} fix${report.apply ? ' --apply' : ''}${report.force ? ' --force' : ''}`)];
  for (const t of report.targets) out.push(...targetText(t, report, c), '');
  return out.join('\n') + '\n';
}

/** The --format json document of `fix`: the plan, and with --apply the outcome. */
export function fixJsonReport(report: FixReport) {
  return {
    tool: { name: TOOL.name, version: TOOL.version },
    apply: report.apply,
    force: report.force,
    targets: report.targets.map((t) => ({
      label: t.target.label,
      ...describeTarget(t.target),
      ...(givenHosts(t.target).length > 1 ? { hosts: givenHosts(t.target), connectedTo: t.connectedTo ?? null } : {}),
      serverVersion: t.serverVersion ?? null,
      plan: t.plan,
      unfixable: t.unfixable,
      refused: t.refused ?? null,
      applied: t.applied ?? null,
      batches: t.batches ?? null,
      applyError: t.applyError ?? null,
      remaining: t.remaining ?? null,
      error: t.error ? { code: t.error.code, message: t.error.message, remediation: t.error.remediation } : null,
    })),
    exitCode: report.exitCode,
    durationMs: Math.round(report.durationMs),
  };
}
