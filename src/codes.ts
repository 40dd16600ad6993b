// Finding codes beyond the ones a check declares: the runner's own (no findings, a check that
// could not run), the rules file's, and the code a plugin's finding gets when it names none.
import type { Check } from './types/check.js';
import type { CodeSpec, Finding, ReportedFinding } from './types/finding.js';

/** The code of a plugin's finding that carries none. */
export const DEFAULT_CODE = 'finding';

/** Codes the runner gives any check: when it returns nothing, and when it cannot finish. */
export const RUNNER_CODES: Record<string, CodeSpec> = {
  'no-findings': { status: 'ok', summary: 'The check returned no findings: nothing to report.' },
  'check-failed': { status: 'failed', summary: 'The check could not run to the end: a query failed.' },
  'query-timeout': { status: 'failed', summary: "The check's query hit the statement or lock timeout." },
};

/** Codes of the `rules` pseudo-result (src/rules/apply.ts). */
export const RULES_CODES: Record<string, CodeSpec> = {
  'waiver-expired': { status: 'warning', summary: 'A rules-file waiver expired: its finding counts again.', remediation: ['text'] },
};

/** Every code a finding of this check may carry: its own, then the runner's (and the default for a plugin without codes). */
export function codesOf(check: Pick<Check, 'codes'>): Record<string, CodeSpec> {
  const own = check.codes ?? { [DEFAULT_CODE]: { status: 'warning', summary: 'A finding of a check that declares no codes.' } };
  return { ...own, ...RUNNER_CODES };
}

export function withCode(f: Finding): ReportedFinding {
  return f.code === undefined ? { ...f, code: DEFAULT_CODE } : (f as ReportedFinding);
}

/** Codes are kebab-case and stable, as check ids are. */
export const CODE_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
