import { targetName, type DatabaseTarget } from './config/target.js';
import { DEFAULT_LIMITS, openSession, type QueryFailure, type Session, type SessionLimits } from './connection.js';
import { accessExclusiveHolders, describeLock, type LockHolder } from './lock-holders.js';
import { createQueryBatcher } from './query-batcher.js';
import { withCode } from './codes.js';
import { PreflightError } from './errors.js';
import { readFacts } from './facts.js';
import { openBeside, type BesideSession } from './beside-session.js';
import { STATUSES, worstStatus, type Check, type CheckInputs, type CheckOptions, type CheckResult, type Finding, type ParamValues, type QueryFn, type ServerFacts, type Status } from './types.js';
import type { HostChoice } from './multi-host.js';
import { resolveParams } from './params.js';
import { checkTarget } from './target-view.js';
import { DEFAULT_JOBS, mapInPool } from './pool.js';
import type { RulesSummary } from './rules/types.js';
import { openSessionWaiting, type WaitOptions } from './wait.js';
import { nowMs } from './clock.js';
import { readerSessions, type ReaderSessions } from './reader-sessions.js';
import type { Opened, SessionAhead } from './session-ahead.js';

export interface RunOptions {
  targets: DatabaseTarget[];
  checks: Check[];
  limits?: Partial<SessionLimits>;
  options?: CheckOptions;
  /** Host inputs for the checks that declare them (Check.inputs); each check gets only its own. */
  inputs?: CheckInputs;
  /** Params per check id (from --set), over each check's declared defaults. */
  params?: Record<string, ParamValues>;
  /** --wait: retry the first connection while the server is not up yet. Without it nothing retries. */
  wait?: WaitOptions;
  /** Called as the run moves on, for a progress display. */
  onProgress?: (progress: RunProgress) => void;
  /** --jobs: targets checked at once, each on its own session. Default DEFAULT_JOBS. */
  jobs?: number;
  /**
   * Resolve only once the server has ended every session of the run: a backend still exiting
   * counts as another session to what connects next (fix --apply refuses while others are
   * connected; connection-budget counts them). A command that exits after the run need not wait.
   */
  closeWaits?: boolean;
  /**
   * A first session already logging in (src/session-ahead.ts): the run takes it when it was
   * opened for this run's one target and limits, and otherwise closes it before its own login.
   */
  ahead?: SessionAhead;
}

export interface RunProgress {
  /** Name of the database being checked (targetName). */
  database: string;
  /** The check about to run; undefined while connecting. */
  check?: string;
  /** Checks of this database done so far, and how many there are. */
  done: number;
  total: number;
}

export interface TargetReport {
  target: DatabaseTarget;
  facts?: ServerFacts;
  results: CheckResult[];
  /** Statements sent to the server for this target, including the facts. */
  roundTrips: number;
  /**
   * Messages sent on the second sessions that read beside the first (QueryOptions.beside,
   * CheckContext.openReader), while it waited for its own: not on its path, so not in
   * `roundTrips`. Absent when none sent anything.
   */
  readerRoundTrips?: number;
  /** Of those, the second session's (src/beside-session.ts): its messages follow the facts one after another. */
  besideRoundTrips?: number;
  durationMs: number;
  /** Set when the target could not be checked (no connection, connection lost). */
  error?: PreflightError;
  /** With several hosts (host=a,b): the one checked and why, and why the others were passed over. */
  connectedTo?: HostChoice['connectedTo'];
  passedOver?: HostChoice['passedOver'];
}

export interface Report {
  targets: TargetReport[];
  summary: Record<Status, number>;
  durationMs: number;
  /** Set by applyRules: which rules applied to this report. */
  rules?: RulesSummary;
}

function toFindings(value: Finding | Finding[] | undefined): Finding[] {
  if (!value) return [];
  return Array.isArray(value) ? value : [value];
}

/** Folds a check's findings into one result: the worst status leads. */
export function summarize(check: Pick<Check, 'id' | 'title'>, database: string, findings: Finding[], durationMs: number): CheckResult {
  const coded = (findings.length === 0 ? [{ code: 'no-findings', status: 'ok' as const, message: 'nothing to report' }] : findings).map(withCode);
  const status = worstStatus(coded.map((f) => f.status));
  const leading = coded.filter((f) => f.status === status);
  return {
    id: check.id,
    title: check.title,
    database,
    status,
    message: headline(status, leading),
    details: coded.length === 1 ? coded[0]!.details : undefined,
    remediation: coded.flatMap((f) => f.remediation ?? []),
    findings: coded,
    durationMs,
  };
}

const PLURAL: Record<Status, string> = { ok: 'ok', skipped: 'skipped', info: 'notes', warning: 'warnings', error: 'errors', failed: 'failed' };

/**
 * One line for a result: the finding itself when one leads; for several findings about named
 * objects, a count and the names (each finding's own message is listed under it by reporters).
 */
function headline(status: Status, leading: Finding[]): string {
  if (leading.length === 1) return leading[0]!.message;
  const objects = leading.map((f) => f.object).filter((o): o is string => Boolean(o));
  if (objects.length === leading.length) {
    const shown = objects.slice(0, 5).join(', ');
    return `${leading.length} ${PLURAL[status]}: ${shown}${objects.length > 5 ? `, and ${objects.length - 5} more` : ''}`;
  }
  return `${leading[0]!.message} (and ${leading.length - 1} more)`;
}

/** What a check that threw turns into; a timeout is the check's result, never a lost connection. */
function failedResult(check: Check, database: string, err: unknown, durationMs: number, limits: SessionLimits, holders: LockHolder[]): CheckResult {
  const pgErr = err as QueryFailure;
  const what = pgErr.purpose ? `${pgErr.purpose}: ` : '';
  let message: string;
  const details: Record<string, unknown> = pgErr.code ? { sqlstate: pgErr.code } : {};
  if (pgErr.code === '57014') {
    message = `${what}a statement ran past the statement timeout (${limits.statementTimeoutMs / 1000} s) and the server cancelled it; raise --statement-timeout, or run it when the server is less busy`;
  } else if (pgErr.code === '55P03') {
    const byRelation = new Map<string, LockHolder[]>();
    for (const h of holders) byRelation.set(h.relation, [...(byRelation.get(h.relation) ?? []), h]);
    const who = [...byRelation].map(([relation, hs]) => describeLock(relation, hs)).join('; ');
    message = `${what}a table stayed locked past the lock timeout (${limits.lockTimeoutMs / 1000} s)${who ? `: ${who}` : ''}; run it again once that session is done, or raise --lock-timeout`;
    if (holders.length > 0) details.lockHolders = holders;
  } else {
    message = `the check could not run: ${pgErr.message ?? String(err)}`;
  }
  const code = pgErr.code === '57014' || pgErr.code === '55P03' ? 'query-timeout' : 'check-failed';
  return summarize(check, database, [{ code, status: 'failed', message, details: Object.keys(details).length > 0 ? details : undefined }], durationMs);
}

/** Only what the check declared: a check (or a plugin) cannot come to rely on an input it did not ask for. */
function inputsFor(check: Check, inputs: CheckInputs): Partial<CheckInputs> {
  return Object.fromEntries((check.inputs ?? []).filter((name) => inputs[name] !== undefined).map((name) => [name, inputs[name]]));
}

/** Puts the host choice of a session on several hosts into the report; the target connected to. */
function chosenHost(report: TargetReport, session: Session): DatabaseTarget | undefined {
  if (!session.hostChoice) return undefined;
  report.connectedTo = session.hostChoice.connectedTo;
  report.passedOver = session.hostChoice.passedOver;
  return session.target;
}

/** What every target of a run shares. */
interface TargetRun {
  checks: Check[];
  limits: SessionLimits;
  options: CheckOptions;
  inputs: CheckInputs;
  params: Record<string, ParamValues>;
  wait: (WaitOptions & { deadline: number }) | undefined;
  onProgress: RunOptions['onProgress'];
  closeWaits: boolean;
  besideAllowed: boolean;
}

async function runTarget(target: DatabaseTarget, run: TargetRun, opening: Promise<Opened> | undefined): Promise<TargetReport> {
  const { checks, limits, options, inputs, params, wait, onProgress, closeWaits, besideAllowed } = run;
  const t0 = nowMs();
  let session: Session | undefined;
  let readers: ReaderSessions | undefined;
  let beside: BesideSession | undefined;
  let besideEnding: Promise<void> | undefined;
  let opened: Opened | undefined;
  const report: TargetReport = { target, results: [], roundTrips: 0, durationMs: 0 };
  try {
    onProgress?.({ database: targetName(target), done: 0, total: checks.length });
    opened = await opening;
    session = opened?.session ?? (wait ? await openSessionWaiting(target, limits, wait) : await openSession(target, limits));
    // With several hosts the checks look at the one connected to, as the application would.
    const checked = chosenHost(report, session) ?? target;
    const checkParams = checks.map((check) => resolveParams(check, params[check.id]));
    // Logs in while the first session reads the facts (sent first: the login's own client work
    // would delay them), then reads their snapshot.
    const readsBeside = checks.map((check, i) => (typeof check.readsBeside === 'function' ? check.readsBeside(checkParams[i]!) : check.readsBeside === true));
    const wantsBeside = besideAllowed && readsBeside.includes(true);
    // (Opened ahead, the facts went out with the login, the snapshot exported whether or not it is wanted.)
    const reading = opened?.facts ?? readFacts(session, { exportSnapshot: wantsBeside });
    beside = wantsBeside ? (opened?.beside ?? openBeside(checked, limits, session)) : undefined;
    // One opened ahead for checks that are not in this run.
    if (!wantsBeside) besideEnding = opened?.beside?.close({ wait: closeWaits });
    const { facts, snapshot } = await reading;
    beside?.share(snapshot);
    report.facts = facts;
    // The checks run at once, their queries batched into shared round trips (query-batcher.ts);
    // the batcher keeps the transaction usable when one of them fails.
    const view = checkTarget(checked);
    readers = readerSessions(checked, limits, { firstPid: session.pid, snapshot });
    const openReader = readers.open;
    const first = createQueryBatcher((sql, opts) => session!.queryEach(sql, opts));
    const second = beside ? createQueryBatcher(beside.send) : first;
    const query: QueryFn = (sql, values, opts) => (opts?.beside ? second : first).query(sql, values, opts);
    const results: (CheckResult | undefined)[] = checks.map(() => undefined);
    let lost: PreflightError | undefined;
    const progress = () => {
      const next = results.findIndex((r) => r === undefined);
      onProgress?.({ database: targetName(target), check: next >= 0 ? checks[next]!.id : undefined, done: results.filter(Boolean).length, total: checks.length });
    };
    progress();
    // Ended once the checks that asked for it are done, while the others still wait for the first
    // session: ending a session costs the client a few milliseconds (the server's side of it runs
    // as the socket is shut), better spent then than after the last answer.
    let besideUsers = readsBeside.filter(Boolean).length;
    const doneWith = (i: number) => {
      if (readsBeside[i] && --besideUsers === 0) besideEnding = beside?.close({ wait: closeWaits });
    };
    await Promise.all(
      checks.map(async (check, i) => {
        const c0 = nowMs();
        const ctx = { facts, target: view, query, options, inputs: inputsFor(check, inputs), params: checkParams[i]!, openReader };
        try {
          results[i] = summarize(check, targetName(target), toFindings(await check.run(ctx)), nowMs() - c0);
        } catch (err) {
          if (err instanceof PreflightError) {
            lost ??= err;
            return;
          }
          const holders = (err as QueryFailure).code === '55P03' && !lost ? await accessExclusiveHolders(query).catch(() => []) : [];
          results[i] = failedResult(check, targetName(target), err, nowMs() - c0, limits, holders);
        } finally {
          doneWith(i);
        }
        progress();
      }),
    );
    if (lost) throw lost;
    report.results.push(...(results as CheckResult[]));
  } catch (err) {
    if (!(err instanceof PreflightError)) throw err;
    report.error = err;
  } finally {
    report.roundTrips = session?.roundTrips() ?? 0;
    const besideTrips = beside?.roundTrips() ?? 0;
    const otherTrips = besideTrips + (readers?.roundTrips() ?? 0);
    if (otherTrips > 0) report.readerRoundTrips = otherTrips;
    if (besideTrips > 0) report.besideRoundTrips = besideTrips;
    const closing = { wait: closeWaits };
    await Promise.all([session?.close(closing), readers?.close(closing), besideEnding ?? beside?.close(closing)]);
    report.durationMs = nowMs() - t0;
  }
  return report;
}

/**
 * Round trips one after another, what a check costs over a network: the facts, then the longer
 * of the two chains that follow them, the first session's and the second's. (The messages of
 * further readers go while the second session waits for its own.)
 */
export function pathRoundTrips(t: Pick<TargetReport, 'roundTrips' | 'besideRoundTrips'>): number {
  return t.roundTrips === 0 ? 0 : 1 + Math.max(t.roundTrips - 1, t.besideRoundTrips ?? 0);
}

/** The library entry point: runs the checks against every target, one connection each. */
export async function runChecks(opts: RunOptions): Promise<Report> {
  const t0 = nowMs();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  // One deadline for the whole run: --wait 60 means 60 s in all, however many databases (a
  // caller that connected before, to list databases, passes the deadline it started).
  const wait = opts.wait ? { ...opts.wait, deadline: opts.wait.deadline ?? Date.now() + opts.wait.timeoutMs } : undefined;
  const jobs = opts.jobs ?? DEFAULT_JOBS;
  // Several databases checked at once already keep the server busy, one session each: second
  // sessions then cost more logins than they overlap (bench/fleet.ts, 100 databases on this
  // machine: --jobs 8 took 3.65 s with them, 2.87 s without).
  const besideAllowed = opts.targets.length === 1 || jobs === 1;
  const run: TargetRun = {
    checks: opts.checks,
    limits,
    options: opts.options ?? {},
    inputs: opts.inputs ?? {},
    params: opts.params ?? {},
    wait,
    onProgress: opts.onProgress,
    closeWaits: opts.closeWaits === true,
    besideAllowed,
  };
  // Only one target without --wait can be what the sessions opened ahead were opened for.
  const opening = opts.targets.length === 1 && !wait ? opts.ahead?.take(opts.targets[0]!, limits) : undefined;
  if (!opening) await opts.ahead?.close();
  const targets = await mapInPool(opts.targets, jobs, (target) => runTarget(target, run, opening));
  const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const t of targets) for (const r of t.results) summary[r.status]++;
  return { targets, summary, durationMs: nowMs() - t0 };
}
