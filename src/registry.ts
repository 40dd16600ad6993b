import { BUILTIN_CHECKS } from '../checks/index.js';
import { usageError } from './errors.js';
import { RULES_RESULT_ID } from './rules/apply.js';
import type { Check } from './types.js';

/** Splits repeated and comma-separated --only/--skip values into ids. */
export function parseIdList(values: readonly string[] | string | undefined): string[] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values as string];
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

export function allChecks(extra: readonly Check[] = []): Check[] {
  const checks = [...BUILTIN_CHECKS, ...extra];
  const seen = new Set<string>();
  for (const c of checks) {
    if (c.id === RULES_RESULT_ID) throw usageError('check-duplicate', `no check may use the id "${c.id}": reports use it for rules-file notices`);
    if (seen.has(c.id)) throw usageError('check-duplicate', `two checks share the id "${c.id}"; every check id must be unique`);
    seen.add(c.id);
  }
  return checks;
}

export function selectChecks(checks: readonly Check[], only: readonly string[] = [], skip: readonly string[] = []): Check[] {
  const known = new Set(checks.map((c) => c.id));
  const unknown = [...only, ...skip].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw usageError('check-unknown', `unknown check id ${unknown.map((u) => `"${u}"`).join(', ')}; "pg-preflight list" shows the ids`);
  }
  return checks.filter((c) => (only.length === 0 || only.includes(c.id)) && !skip.includes(c.id));
}

export function findCheck(checks: readonly Check[], id: string): Check {
  const check = checks.find((c) => c.id === id);
  if (!check) throw usageError('check-unknown', `unknown check id "${id}"; "pg-preflight list" shows the ids`);
  return check;
}
