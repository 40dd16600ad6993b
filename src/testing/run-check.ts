// Running one check against a real database the way pg-preflight runs it (the library API, the
// read-only session, the password-free context), and holding its findings to what it declares.
import { codesOf } from '../codes.js';
import { resolveTargets } from '../config/resolve.js';
import { synapseProcesses } from '../connection-diagnosis/synapse-processes.js';
import { parseSetFlags } from '../params.js';
import type { DatabaseTarget } from '../config/target.js';
import type { SessionLimits } from '../connection-types.js';
import { runChecks, type Report } from '../runner.js';
import type { Check, CheckInputs, CheckOptions, CheckResult, ParamValues } from '../types.js';

/** A PostgreSQL server a test may create databases on: `postgres` logs in without a password. */
export interface TestServer {
  host: string;
  port: number;
  major: number;
}

export interface RunCheckOptions {
  /** Connect as this role (default postgres). */
  user?: string;
  /** homeserver.yaml files instead of a DSN to the database. */
  configPaths?: string[];
  /** With configPaths: connect to the database all the same (as --dsn over --config), keeping the config's Synapse sections. */
  dsnOverConfig?: boolean;
  /** --worker-config files: with configPaths and --workers, the Synapse processes that connect (the synapseProcesses input, built as the CLI builds it). */
  workerConfigs?: string[];
  /** --workers: that many more processes on the main process's pools. */
  workers?: number;
  params?: ParamValues;
  /** Params as --set gives them, without the check id: `name=value`; over `params`. */
  set?: string[];
  inputs?: CheckInputs;
  options?: CheckOptions;
  /** Other checks to run in the same session (a check reading another's effect). */
  alongside?: Check[];
  /** Session limits over the defaults (a short lock_timeout, say), as --lock-timeout and friends set them. */
  limits?: Partial<SessionLimits>;
}

export interface CheckRun {
  result: CheckResult;
  /** Statements sent for the whole run, server facts included. */
  roundTrips: number;
  report: Report;
}

export function dsnOf(server: Pick<TestServer, 'host' | 'port'>, database: string, user = 'postgres'): string {
  return `postgresql://${encodeURIComponent(user)}@${server.host}:${server.port}/${encodeURIComponent(database)}`;
}

/** Every finding has a code its check declares, with a status and remediation kinds that code allows. */
export function declaredProblems(check: Check, result: CheckResult): string[] {
  const codes = codesOf(check);
  const problems: string[] = [];
  for (const f of result.findings) {
    const spec = codes[f.code];
    if (!spec) {
      problems.push(`${check.id}: finding code "${f.code}" is not declared in codes`);
      continue;
    }
    if (![spec.status, ...(spec.otherStatuses ?? [])].includes(f.status)) problems.push(`${check.id}/${f.code}: status ${f.status} is not declared for this code`);
    for (const step of f.remediation ?? []) {
      if (!(spec.remediation ?? []).includes(step.kind)) problems.push(`${check.id}/${f.code}: a ${step.kind} step, not declared for this code`);
    }
  }
  return problems;
}

/** Runs `check` on `database` of `server`; throws when the database cannot be reached or a finding breaks its declaration. */
export async function runCheck(check: Check, server: Pick<TestServer, 'host' | 'port'>, database: string, opts: RunCheckOptions = {}): Promise<CheckRun> {
  const env = { HOME: '/nonexistent' };
  const { targets } = resolveTargets({
    dsn: opts.configPaths && !opts.dsnOverConfig ? undefined : dsnOf(server, database, opts.user),
    configPaths: opts.configPaths,
    env,
  });
  // The CLI describes what connects from the same files and flags (src/cli/check-inputs.ts).
  const processes = opts.inputs?.synapseProcesses ?? synapseProcesses({ configPaths: opts.configPaths ?? [], targets, workerConfigs: opts.workerConfigs ?? [], workers: opts.workers, env });
  return runCheckOn(check, targets, { ...opts, inputs: { ...opts.inputs, ...(processes ? { synapseProcesses: processes } : {}) } });
}

/** Runs `check` on the database a connection URI names (a password, another host or address). */
export async function runCheckAt(check: Check, dsn: string, opts: Omit<RunCheckOptions, 'configPaths' | 'user' | 'dsnOverConfig' | 'workerConfigs' | 'workers'> = {}): Promise<CheckRun> {
  return runCheckOn(check, resolveTargets({ dsn, env: { HOME: '/nonexistent' } }).targets, opts);
}

/** Runs `check` on targets built by the caller (a config whose connection a test redirects, say). */
export async function runCheckOn(check: Check, targets: DatabaseTarget[], opts: Omit<RunCheckOptions, 'configPaths' | 'user' | 'dsnOverConfig' | 'workerConfigs' | 'workers'> = {}): Promise<CheckRun & { results: CheckResult[] }> {
  const set = opts.set && opts.set.length > 0 ? parseSetFlags(opts.set.map((s) => `${check.id}.${s}`), [check])[check.id] : undefined;
  const params = opts.params || set ? { [check.id]: { ...opts.params, ...set } } : undefined;
  const checks = [...(opts.alongside ?? []), check];
  // What a test does next (apply the printed SQL, run a check that counts sessions) finds no session of this run.
  const report = await runChecks({ targets, checks, limits: opts.limits, options: opts.options, inputs: opts.inputs, params, closeWaits: true });
  for (const t of report.targets) if (t.error) throw t.error;
  const results = report.targets.flatMap((x) => x.results.filter((r) => r.id === check.id));
  // Every database of a split config is held to the declaration, not only the first.
  const problems = results.flatMap((r) => declaredProblems(check, r));
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { result: results[0]!, results, roundTrips: report.targets[0]!.roundTrips, report };
}
