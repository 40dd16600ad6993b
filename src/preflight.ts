// The library API the CLI is a thin layer over: resolve targets, load plugins and rules, select
// checks, run, apply the rules, decide.
import { dirname } from 'node:path';
import type { DatabaseTarget } from './config/target.js';
import type { SessionLimits } from './connection.js';
import { EXIT, usageError } from './errors.js';
import { parseSetFlags } from './params.js';
import { loadPlugins, type PluginSpec } from './plugins.js';
import { allChecks, selectChecks } from './registry.js';
import { applyRules, countedStatus } from './rules/apply.js';
import { mergeParams, resolveRules } from './rules/resolve.js';
import type { Rules, RulesFile } from './rules/types.js';
import { resolveRunTargets, type RunTargetInput } from './run-targets.js';
import { runChecks, type Report, type RunOptions } from './runner.js';
import { statusAtLeast, type Check, type CheckInputs, type CheckOptions, type FailOn, type ParamValues } from './types.js';
import type { WaitOptions } from './wait.js';
import type { SessionAhead } from './session-ahead.js';

export type { FailOn };

export interface PreflightOptions extends RunTargetInput {
  only?: string[];
  skip?: string[];
  /** Checks added to the built-in ones, as objects. */
  extraChecks?: Check[];
  /** Plugin modules to load (paths or package names), besides the rules file's `plugins:`. */
  plugins?: (string | PluginSpec)[];
  /** Where relative plugin paths start and package names are looked up. Default: process.cwd(). */
  cwd?: string;
  /** A rules file from loadRules() or parseRules(): severities, params, waivers, plugins. */
  rulesFile?: RulesFile;
  /** `check-id.param=value` strings, as --set takes them; they win over the rules file. */
  set?: string[];
  /** Params per check id, typed; over the rules file's, under `set`. */
  params?: Record<string, ParamValues>;
  /** Databases already resolved (otherwise from dsn / configPaths / env). */
  targets?: DatabaseTarget[];
  limits?: Partial<SessionLimits>;
  options?: CheckOptions;
  /** Host inputs for the checks that declare them. */
  inputs?: CheckInputs;
  wait?: WaitOptions;
  onProgress?: RunOptions['onProgress'];
  /** Databases checked at once (--jobs); default DEFAULT_JOBS. */
  jobs?: number;
  /** A first session opened before the run (RunOptions.ahead). */
  ahead?: SessionAhead;
}

/** The plugins a run loads: the rules file's (relative to that file), then the caller's. */
function pluginSpecs(opts: PreflightOptions, cwd: string): PluginSpec[] {
  const fromRules = (opts.rulesFile?.plugins ?? []).map((p) => ({
    module: p.module,
    baseDir: dirname(opts.rulesFile!.path),
    from: `${opts.rulesFile!.display}:${p.line}`,
  }));
  const given = (opts.plugins ?? []).map((p) => (typeof p === 'string' ? { module: p, baseDir: cwd } : p));
  return [...fromRules, ...given];
}

/** Everything decided before the first connection: databases, checks, params, rules. */
export interface PreparedRun {
  targets: DatabaseTarget[];
  /** The checks that will run, in order (built-in and plugins, minus --skip and `off`). */
  checks: Check[];
  /** Every check known to this run, selected or not. */
  known: Check[];
  params: Record<string, ParamValues>;
  rules?: Rules;
}

/** Resolves targets, loads plugins, checks the rules file against the checks, and selects checks. */
export async function preparePreflight(opts: PreflightOptions): Promise<PreparedRun> {
  const targets = opts.targets ?? (await resolveRunTargets(opts));
  const pluginChecks = await loadPlugins(pluginSpecs(opts, opts.cwd ?? process.cwd()));
  const known = allChecks([...(opts.extraChecks ?? []), ...pluginChecks]);
  const rules = opts.rulesFile ? resolveRules(opts.rulesFile, known) : undefined;
  const set = opts.set && opts.set.length > 0 ? parseSetFlags(opts.set, known) : undefined;
  // A check the rules turn off still runs when --only names it: the command line wins.
  const only = opts.only ?? [];
  const checks = selectChecks(known, only, opts.skip).filter((c) => only.includes(c.id) || !rules?.off.includes(c.id));
  return { targets, checks, known, params: mergeParams(rules?.params, opts.params, set), ...(rules ? { rules } : {}) };
}

/** Runs a prepared run and applies its rules. */
export async function runPrepared(run: PreparedRun, opts: Pick<PreflightOptions, 'limits' | 'options' | 'inputs' | 'wait' | 'onProgress' | 'jobs' | 'ahead'> = {}): Promise<Report> {
  const report = await runChecks({
    targets: run.targets,
    checks: run.checks,
    limits: opts.limits,
    options: opts.options,
    inputs: opts.inputs,
    params: run.params,
    wait: opts.wait,
    onProgress: opts.onProgress,
    jobs: opts.jobs,
    ahead: opts.ahead,
  });
  return run.rules ? applyRules(report, run.rules, opts.options?.now ?? new Date()) : report;
}

export async function preflight(opts: PreflightOptions): Promise<Report> {
  // --all-databases logs in before the run to list databases: one --wait deadline for both.
  const withDeadline = opts.wait ? { ...opts, wait: { ...opts.wait, deadline: opts.wait.deadline ?? Date.now() + opts.wait.timeoutMs } } : opts;
  return runPrepared(await preparePreflight(withDeadline), withDeadline);
}

export function parseFailOn(value: string): FailOn {
  if (value === 'error' || value === 'warning' || value === 'never') return value;
  throw usageError('usage', `--fail-on must be error, warning or never, not "${value}"`);
}

/**
 * 3 when any database could not be checked (whatever the others found: a fleet with a server
 * down must not read as passing); else 1 when a result of any database is at or above
 * --fail-on, not counting findings a waiver accepts; else 0.
 */
export function exitCodeFor(report: Report, failOn: FailOn): number {
  if (report.targets.some((t) => t.error)) return EXIT.connection;
  if (failOn === 'never') return EXIT.ok;
  const threshold = failOn === 'warning' ? 'warning' : 'error';
  const failing = report.targets.some((t) => t.results.some((r) => statusAtLeast(countedStatus(r), threshold)));
  return failing ? EXIT.findings : EXIT.ok;
}
