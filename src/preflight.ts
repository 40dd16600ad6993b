// The library API the CLI is a thin layer over: resolve targets, select checks, run, decide.
import { resolveTargets, type TargetInput } from './config/resolve.js';
import type { SessionLimits } from './connection.js';
import { EXIT, usageError } from './errors.js';
import { allChecks, selectChecks } from './registry.js';
import { runChecks, type Report } from './runner.js';
import { statusAtLeast, type Check, type CheckOptions } from './types.js';

export type FailOn = 'error' | 'warning' | 'never';

export interface PreflightOptions extends TargetInput {
  only?: string[];
  skip?: string[];
  /** Checks added to the built-in ones (plugins). */
  extraChecks?: Check[];
  limits?: Partial<SessionLimits>;
  options?: CheckOptions;
}

export async function preflight(opts: PreflightOptions): Promise<Report> {
  const { targets } = resolveTargets(opts);
  const checks = selectChecks(allChecks(opts.extraChecks), opts.only, opts.skip);
  return runChecks({ targets, checks, limits: opts.limits, options: opts.options });
}

export function parseFailOn(value: string): FailOn {
  if (value === 'error' || value === 'warning' || value === 'never') return value;
  throw usageError('usage', `--fail-on must be error, warning or never, not "${value}"`);
}

/** 3 when a database could not be checked; 1 when a result is at or above --fail-on; else 0. */
export function exitCodeFor(report: Report, failOn: FailOn): number {
  if (report.targets.some((t) => t.error)) return EXIT.connection;
  if (failOn === 'never') return EXIT.ok;
  const threshold = failOn === 'warning' ? 'warning' : 'error';
  const failing = report.targets.some((t) => t.results.some((r) => statusAtLeast(r.status, threshold)));
  return failing ? EXIT.findings : EXIT.ok;
}
