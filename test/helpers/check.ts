// Built-in checks by id, through pg-preflight/testing's runner (the one every check test uses).
import { expect } from 'vitest';
import { resolveTargets } from '../../src/config/resolve.js';
import { allChecks, findCheck, selectChecks } from '../../src/registry.js';
import { runChecks, type Report } from '../../src/runner.js';
import { declaredProblems, runCheck as runOne } from '../../src/testing/index.js';
import type { Check, CheckOptions, CheckResult } from '../../src/types.js';
import { dsnFor, type SharedServer } from './servers.js';

/** Runs the built-in check `id` against a database of a shared server. */
export async function runCheck(
  server: SharedServer,
  database: string,
  id: string,
  opts: { configPaths?: string[]; options?: CheckOptions } = {},
): Promise<CheckResult> {
  return (await runOne(findCheck(allChecks(), id), server, database, opts)).result;
}

/** Several built-in checks in one session, each held to its declared codes. */
export async function runReport(
  server: SharedServer,
  database: string,
  only: string[],
  opts: { configPaths?: string[]; options?: CheckOptions } = {},
): Promise<Report> {
  const { targets } = resolveTargets({
    dsn: opts.configPaths ? undefined : dsnFor(server, database),
    configPaths: opts.configPaths,
    env: { HOME: '/nonexistent' },
  });
  const checks = selectChecks(allChecks(), only);
  const report = await runChecks({ targets, checks, options: opts.options });
  for (const t of report.targets) for (const r of t.results) expectDeclared(checks.find((c) => c.id === r.id)!, r);
  return report;
}

/** Every finding carries a code its check declares, with a status and remediation kinds that code allows. */
export function expectDeclared(check: Check, result: CheckResult): void {
  expect(declaredProblems(check, result)).toEqual([]);
}
