// Applying rules to a finished report: severity overrides, waivers, and the `rules` result that
// reports expired waivers. A pure function of the report, the rules and "today".
import { targetName, type DatabaseTarget } from '../config/target.js';
import { summarize, type Report } from '../runner.js';
import { STATUSES, type CheckResult, type Finding, type Status } from '../types.js';
import type { Rules, RulesSummary, WaiverRule } from './types.js';

/** The id of the pseudo-result that carries rules-file problems found at run time; no check may use it. */
export const RULES_RESULT_ID = 'rules';

/** Severity overrides touch only these: ok, skipped and info are not problems, failed is not a finding. */
const OVERRIDABLE: readonly Status[] = ['warning', 'error'];
const WAIVABLE: readonly Status[] = ['info', 'warning', 'error', 'failed'];

/** The UTC calendar day of a moment, YYYY-MM-DD, as waiver dates are compared. */
export function isoDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** A waiver applies through its `expires` day and stops applying the day after. */
export function waiverExpired(waiver: Pick<WaiverRule, 'expires'>, now: Date): boolean {
  return waiver.expires < isoDay(now);
}

// The status that counts for the exit code lives with the reporters, which all need it.
export { countedStatus } from '../reporters/findings.js';

/**
 * A waiver's `database:` names a target by its name in the run (`hs/a.yaml:master`) or by its
 * Synapse label (`master`), which then means that database of every homeserver checked.
 */
function waiverNamesTarget(w: WaiverRule, target: DatabaseTarget): boolean {
  return w.database === undefined || w.database === targetName(target) || w.database === target.label;
}

function waiverMatches(w: WaiverRule, target: DatabaseTarget, result: CheckResult, finding: Finding): boolean {
  return w.check === result.id && (w.code === undefined || w.code === finding.code) && (w.object === undefined || w.object === finding.object) && waiverNamesTarget(w, target);
}

function applyToResult(target: DatabaseTarget, result: CheckResult, rules: Rules, active: WaiverRule[], matched: Map<WaiverRule, number>): CheckResult {
  const severity = rules.severity[result.id];
  let changed = false;
  const findings = result.findings.map((original) => {
    let f = original;
    if (severity && OVERRIDABLE.includes(f.status) && f.status !== severity) {
      f = { ...f, status: severity, message: `${f.message} (set to ${severity} by ${rules.file ?? 'the rules'}; the check says ${f.status})` };
    }
    if (WAIVABLE.includes(f.status)) {
      const w = active.find((x) => waiverMatches(x, target, result, f));
      if (w) {
        matched.set(w, (matched.get(w) ?? 0) + 1);
        f = { ...f, waived: { reason: w.reason, expires: w.expires } };
      }
    }
    if (f !== original) changed = true;
    return f;
  });
  return changed ? summarize(result, result.database, findings, result.durationMs) : result;
}

function expiredFinding(w: WaiverRule, file: string | undefined): Finding {
  const what = `${w.check}${w.code ? ` (${w.code})` : ''}${w.object ? ` on ${w.object}` : ''}${w.database ? ` in database ${w.database}` : ''}`;
  const where = file ? `${file}:${w.line}` : 'the rules';
  return {
    code: 'waiver-expired',
    status: 'warning',
    message: `the waiver for ${what} expired on ${w.expires} ("${w.reason}", ${where}): it no longer applies, so that finding counts again`,
    object: w.object ?? w.check,
    details: { check: w.check, ...(w.code ? { code: w.code } : {}), object: w.object ?? null, database: w.database ?? null, expires: w.expires, reason: w.reason, line: w.line },
    remediation: [{ kind: 'text', text: `Fix the finding, or, if it is still accepted, give the waiver at ${where} a later expires date (or delete it once the finding is gone).` }],
  };
}

/** Applies severity overrides and waivers to a report; returns a new report (the input is unchanged). */
export function applyRules(report: Report, rules: Rules, now: Date = new Date()): Report {
  const active = rules.waivers.filter((w) => !waiverExpired(w, now));
  const expired = rules.waivers.filter((w) => waiverExpired(w, now));
  const matched = new Map<WaiverRule, number>();
  const targets = report.targets.map((t) => ({ ...t, results: t.results.map((r) => applyToResult(t.target, r, rules, active, matched)) }));

  // Expired waivers go to the first database they name, else to the first one: once per run, in a
  // result every reporter shows like any check's.
  for (const target of targets) {
    const mine = expired.filter((w) => (targets.find((t) => w.database !== undefined && waiverNamesTarget(w, t.target)) ?? targets[0]) === target);
    if (mine.length === 0) continue;
    const result = summarize({ id: RULES_RESULT_ID, title: 'Rules file' }, targetName(target.target), mine.map((w) => expiredFinding(w, rules.file)), 0);
    target.results = [...target.results, result];
  }

  const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const t of targets) for (const r of t.results) summary[r.status]++;
  const rulesSummary: RulesSummary = {
    ...(rules.file ? { file: rules.file } : {}),
    off: rules.off,
    severity: rules.severity,
    waivers: rules.waivers.map((w) => ({ ...w, expired: waiverExpired(w, now), matched: matched.get(w) ?? 0 })),
  };
  return { ...report, targets, summary, rules: rulesSummary };
}
