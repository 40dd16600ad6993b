import { expect } from 'vitest';
import { declaredProblems } from '../../src/testing/index.js';
import { resolveTargets } from '../../src/config/resolve.js';
import { allChecks, selectChecks } from '../../src/registry.js';
import { runChecks, type Report } from '../../src/runner.js';
import type { Check, CheckOptions, CheckResult } from '../../src/types.js';
import { dsnFor, type SharedServer } from './servers.js';

/** Runs one check through the library API against a database of a shared server. */
export async function runCheck(
  server: SharedServer,
  database: string,
  id: string,
  opts: { configPaths?: string[]; options?: CheckOptions } = {},
): Promise<CheckResult> {
  const report = await runReport(server, database, [id], opts);
  const t = report.targets[0]!;
  if (t.error) throw t.error;
  return t.results[0]!;
}

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
