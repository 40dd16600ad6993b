import { resolveTargets } from '../../src/config/resolve.js';
import { allChecks, selectChecks } from '../../src/registry.js';
import { runChecks, type Report } from '../../src/runner.js';
import type { CheckOptions, CheckResult } from '../../src/types.js';
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
  return runChecks({ targets, checks: selectChecks(allChecks(), only), options: opts.options });
}
