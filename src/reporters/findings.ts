// What every machine reporter needs to know about a result, in one place, so that SARIF, JUnit,
// GitHub and Prometheus agree on which findings are problems, which are waived and what counts.
import type { FailOn } from '../types/status.js';
import { STATUSES, statusAtLeast, worstStatus, type CheckResult, type Finding, type Remediation, type Status, type Waiver } from '../types.js';

/** Findings a reporter lists one by one: everything but `ok` and `skipped`. */
export function isProblem(f: Pick<Finding, 'status'>): boolean {
  return f.status !== 'ok' && f.status !== 'skipped';
}

export function problems(r: CheckResult): Finding[] {
  return r.findings.filter(isProblem);
}

/** The worst status among the findings, waived or not: what the check saw. */
export function seenStatus(r: CheckResult): Status {
  return worstStatus(r.findings.map((f) => f.status));
}

/**
 * The worst status among findings no waiver accepts: what counts for --fail-on. A check whose
 * every problem is waived counts as `ok` (or `skipped`, when that is all that is left).
 */
export function countedStatus(r: CheckResult): Status {
  return worstStatus(r.findings.filter((f) => !f.waived).map((f) => f.status));
}

/** True when the check saw a problem and waivers accept all of its worst findings. */
export function isWaived(r: CheckResult): boolean {
  const seen = seenStatus(r);
  return isProblem({ status: seen }) && r.findings.filter((f) => f.status === seen).every((f) => f.waived);
}

/** The threshold --fail-on sets, or undefined for `never`. */
export function failThreshold(failOn: FailOn): Status | undefined {
  return failOn === 'never' ? undefined : failOn;
}

export function fails(status: Status, failOn: FailOn): boolean {
  const threshold = failThreshold(failOn);
  return threshold !== undefined && statusAtLeast(status, threshold);
}

export function severity(status: Status): number {
  return STATUSES.indexOf(status);
}

export function waiverText(w: Waiver): string {
  return `waived: ${w.reason}${w.expires ? ` (until ${w.expires})` : ''}`;
}

/** Remediation as plain text: titles as lines, commands indented by nothing so they paste as they are. */
export function remediationText(steps: Remediation[]): string {
  return steps
    .map((s, i) => {
      const head = `${i + 1}. ${s.kind === 'text' ? s.text : `${s.title ?? ''}${s.title ? ' ' : ''}(${s.kind})`}`;
      return s.kind === 'text' ? head : `${head}\n${s.text}`;
    })
    .join('\n\n');
}

/**
 * One finding as a line of text: the object it names (unless that is the database the report
 * is already about), the message, and a waiver if any.
 */
export function findingLine(f: Finding, database?: string): string {
  const object = f.object && f.object !== database ? `${f.object}: ` : '';
  return `${object}${f.message}${f.waived ? ` [${waiverText(f.waived)}]` : ''}`;
}
