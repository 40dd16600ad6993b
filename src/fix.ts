// `pg-preflight fix`: the fixes the checks' findings carry (src/fix-types.ts), as a plan, and,
// with apply, those changes made in writable transactions (src/fix-apply.ts) on a database nobody
// else is connected to, or, with --force, one whose writers keep writing. Every change moves a
// sequence to GREATEST (LEAST counting down) of its own value and its rows, so it can only move a
// sequence forward, and running the fix again changes nothing.
//
// Which checks: every check, built in or a plugin, that declares the kinds of fix it produces
// (Check.fixes). The plan prints setval, which is what a user pastes; --apply sets the same value
// transactionally under the sequence's lock.
import { resolveTargets, type TargetInput } from './config/resolve.js';
import type { DatabaseTarget } from './config/target.js';
import { DEFAULT_LIMITS, openSession, type SessionLimits } from './connection.js';
import type { HostChoice } from './multi-host.js';
import { EXIT, PreflightError } from './errors.js';
import { applyBatch, batchesOf, OTHER_SESSIONS_SQL, OthersConnected, sequencesPerBatch, type GroupOutcome, type SequenceGroup, type SequenceValue } from './fix-apply.js';
import { FIX_KINDS, type Fix } from './fix-types.js';
import { quoteQualified } from './quote.js';
import { allChecks } from './registry.js';
import { pathRoundTrips, runChecks, type TargetReport } from './runner.js';
import { defaultLockBudget } from './sequences/batches.js';
import { displayName, fixSetval, type SequenceName } from './sequences/remediation.js';
import { statusAtLeast, type Check, type CheckOptions, type ParamValues, type ServerFacts, type Status } from './types.js';
import { nowMs } from './clock.js';

export type { SequenceValue } from './fix-apply.js';

export interface FixOptions extends TargetInput {
  /** Run the plan; without it, only report it. */
  apply?: boolean;
  /** Apply even while other sessions are connected to the database. */
  force?: boolean;
  limits?: Partial<SessionLimits>;
  options?: CheckOptions;
  params?: Record<string, ParamValues>;
  /** Plugin checks, besides the built-in ones; those that declare `fixes` run. */
  checks?: readonly Check[];
  /** Locks one transaction of --apply may hold; default a quarter of the server's lock table. */
  lockBudget?: number;
}

export interface PlannedFix {
  check: string;
  status: Status;
  object: string;
  sequence: SequenceName;
  summary: string;
  /** Exactly the SQL the finding prints. */
  sql: string;
  /** The value that SQL gives setval; --apply computes it under the sequence's lock. */
  valueSql: string;
  ascending: boolean;
  /** What the sequence must reach, one SQL expression each. */
  covers: string[];
  /** Locks reading `covers` takes. */
  lockWeight: number;
}

/** A finding of the fixing checks that carries no fix. */
export interface Unfixable {
  check: string;
  status: Status;
  object?: string;
  message: string;
}

export interface OtherSession {
  pid: number;
  user: string | null;
  applicationName: string | null;
  clientAddr: string | null;
  state: string | null;
}

export interface AppliedFix extends PlannedFix {
  before: SequenceValue;
  after: SequenceValue;
  changed: boolean;
  /** The transaction (1-based) it was applied in. */
  batch: number;
  /** Set when the sequence was left alone, with the reason. */
  refused?: string;
}

export interface FixTargetReport {
  target: DatabaseTarget;
  serverVersion?: string;
  plan: PlannedFix[];
  unfixable: Unfixable[];
  /** Set when other sessions were connected and --force was not given: nothing was changed. */
  refused?: { sessions: OtherSession[] };
  /** Set after --apply: each planned fix with the sequence's value before and after it. */
  applied?: AppliedFix[];
  /** After --apply: how many transactions the plan needed, and how many committed. */
  batches?: { count: number; committed: number; lockBudget: number };
  /** Why applying stopped part-way (a permission, a timeout). */
  applyError?: string;
  /** After --apply: what still needs attention (fixes not applied, errors no fix addresses). */
  remaining?: (PlannedFix | Unfixable)[];
  /** Round trips of the checks that made the plan, one after another (pathRoundTrips; on their own connections). */
  checkRoundTrips?: number;
  /** Round trips --apply made before its first write (after the checks' own), when it got that far. */
  roundTripsBeforeWrite?: number;
  /** The database could not be reached. */
  error?: PreflightError;
  /**
   * With several hosts: the one the plan was made on, and why (the check's choice), or, after
   * --apply, the one the apply connected to (its own choice, made the same way).
   */
  connectedTo?: HostChoice['connectedTo'];
}

export interface FixReport {
  apply: boolean;
  force: boolean;
  targets: FixTargetReport[];
  /** 0: everything fixable is fixed (or nothing needed fixing); 1: something remains; 3: a database was not reached. */
  exitCode: number;
  durationMs: number;
}

/** The checks `fix` runs: every one that declares a kind of fix this version can apply. */
export function fixingChecks(extra: readonly Check[] = []): Check[] {
  return allChecks(extra).filter((c) => Array.isArray(c.fixes) && c.fixes.some((k) => FIX_KINDS.includes(k)));
}

/** What is wrong with a finding's fix (a plugin's, say), or undefined when it can be applied. */
export function fixProblem(fix: unknown): string | undefined {
  const f = fix as Partial<Fix> | undefined;
  if (typeof f !== 'object' || f === null) return 'it is not an object';
  if (!FIX_KINDS.includes(f.kind as Fix['kind'])) return `its kind ${JSON.stringify(f.kind)} is not one of ${FIX_KINDS.join(', ')}`;
  if (typeof f.schema !== 'string' || typeof f.sequence !== 'string' || f.schema === '' || f.sequence === '') return 'it names no schema and sequence';
  if (typeof f.ascending !== 'boolean') return 'it does not say whether the sequence counts up (ascending)';
  if (!Array.isArray(f.covers) || f.covers.length === 0 || !f.covers.every((c) => typeof c === 'string' && c.trim() !== '')) return 'it has no covers (SQL expressions the sequence must reach)';
  if (typeof f.summary !== 'string') return 'it has no summary';
  return undefined;
}

/** Splits the findings of the fixing checks into the plan and what the plan leaves alone. */
function planFrom(t: TargetReport): { plan: PlannedFix[]; unfixable: Unfixable[] } {
  const plan: PlannedFix[] = [];
  const unfixable: Unfixable[] = [];
  for (const r of t.results) {
    for (const f of r.findings) {
      const problem = f.fix === undefined ? 'none' : fixProblem(f.fix);
      if (problem === undefined) {
        const fix = f.fix!;
        const { sql, valueSql } = fixSetval(fix);
        plan.push({
          check: r.id,
          status: f.status,
          object: f.object ?? displayName(fix.schema, fix.sequence),
          sequence: { schema: fix.schema, name: fix.sequence },
          summary: fix.summary,
          sql,
          valueSql,
          ascending: fix.ascending,
          covers: fix.covers,
          lockWeight: fix.lockWeight ?? fix.covers.length,
        });
      } else if (problem !== 'none') unfixable.push({ check: r.id, status: statusAtLeast(f.status, 'error') ? f.status : 'error', object: f.object, message: `${f.message} (its fix cannot be applied: ${problem})` });
      else if (f.status !== 'ok') unfixable.push({ check: r.id, status: f.status, object: f.object, message: f.message });
    }
  }
  return { plan, unfixable };
}

/** One group per sequence, in plan order: two checks may ask for the same one (sequence-drift and stream-positions). */
function groupsOf(plan: PlannedFix[]): { groups: SequenceGroup[]; groupOf: number[] } {
  const groups: SequenceGroup[] = [];
  const byName = new Map<string, number>();
  const groupOf = plan.map((p) => {
    const qualified = quoteQualified(p.sequence.schema, p.sequence.name);
    let i = byName.get(qualified);
    if (i === undefined) {
      i = groups.push({ sequence: p.sequence, qualified, label: displayName(p.sequence.schema, p.sequence.name), ascending: p.ascending, covers: [], lockWeight: 0 }) - 1;
      byName.set(qualified, i);
    }
    groups[i]!.covers.push(...p.covers);
    groups[i]!.lockWeight += p.lockWeight;
    return i;
  });
  return { groups, groupOf };
}

function failureText(err: Error & { outsideTransaction?: string[] }, batch: number, count: number): string {
  const outside = err.outsideTransaction ?? [];
  const rolledBack =
    outside.length === 0
      ? 'no sequence was changed'
      : `no sequence was changed except ${outside.join(', ')}, set with setval (the role does not own ${outside.length > 1 ? 'them' : 'it'}), which a rollback does not undo and which only moved forward`;
  const message = err.message.replace(/\.$/, '');
  if (count === 1) return `${message}. The transaction was rolled back: ${rolledBack}. Fix the cause and run the fix again.`;
  const range = (from: number, to: number) => (from === to ? `batch ${from}` : `batches ${from}-${to}`);
  const before = batch === 0 ? 'no batch before it had committed' : `${range(1, batch)} of ${count} had committed (their sequences are fixed)`;
  const after = batch + 1 < count ? `; ${range(batch + 2, count)} ${batch + 2 === count ? 'was' : 'were'} not attempted` : '';
  return `${message}. Batch ${batch + 1} of ${count} was rolled back: in it, ${rolledBack}; ${before}${after}. Fix the cause and run the fix again: it picks up what is left.`;
}

/** Writable transactions, one per batch of sequences; see fix-apply.ts. */
async function applyPlan(
  target: DatabaseTarget,
  plan: PlannedFix[],
  limits: SessionLimits,
  force: boolean,
  lockBudget: number,
  major: number,
): Promise<Pick<FixTargetReport, 'refused' | 'applied' | 'applyError' | 'batches' | 'roundTripsBeforeWrite' | 'connectedTo'>> {
  const session = await openSession(target, limits);
  const connectedTo = session.hostChoice?.connectedTo;
  try {
    const { groups, groupOf } = groupsOf(plan);
    const batches = batchesOf(groups, sequencesPerBatch(lockBudget));
    const outcomes: GroupOutcome[] = [];
    const batchOf: number[] = [];
    let committed = 0;
    let applyError: string | undefined;
    let roundTripsBeforeWrite: number | undefined;
    for (const [b, batch] of batches.entries()) {
      try {
        const done = await applyBatch(session, batch, { lockBudget, major, force });
        roundTripsBeforeWrite ??= done.roundTripsBeforeWrite;
        for (const o of done.outcomes) {
          outcomes.push(o);
          batchOf.push(b + 1);
        }
        committed++;
      } catch (err) {
        if (err instanceof PreflightError) throw err;
        if (err instanceof OthersConnected && b === 0) return { refused: { sessions: await session.query<OtherSession & Record<string, unknown>>(OTHER_SESSIONS_SQL) }, connectedTo };
        applyError = failureText(err as Error, b, batches.length);
        break;
      }
    }
    const seen = new Set<number>();
    const applied: AppliedFix[] = [];
    plan.forEach((p, k) => {
      const gi = groupOf[k]!;
      const o = outcomes[gi];
      // Its batch was rolled back or not attempted.
      if (!o) return;
      const first = !seen.has(gi);
      seen.add(gi);
      const refused = o.refused;
      // A second fix of the same sequence finds it where the first one left it.
      applied.push({ ...p, before: first ? o.before : o.after, after: o.after, changed: first && o.changed, batch: batchOf[gi]!, ...(refused ? { refused } : {}) });
    });
    return { applied, applyError, batches: { count: batches.length, committed, lockBudget }, roundTripsBeforeWrite, connectedTo };
  } finally {
    await session.close();
  }
}

async function checkTarget(target: DatabaseTarget, opts: FixOptions, limits: SessionLimits): Promise<TargetReport> {
  // --apply connects right after: the checks' sessions must be gone by then.
  const report = await runChecks({ targets: [target], checks: fixingChecks(opts.checks), limits, options: opts.options, params: opts.params, closeWaits: true });
  return report.targets[0]!;
}

function needsAttention(plan: PlannedFix[], unfixable: Unfixable[]): (PlannedFix | Unfixable)[] {
  return [...plan, ...unfixable.filter((u) => statusAtLeast(u.status, 'error'))];
}

function lockBudgetOf(opts: FixOptions, facts: ServerFacts | undefined): number {
  if (opts.lockBudget !== undefined && opts.lockBudget > 0) return opts.lockBudget;
  return facts ? defaultLockBudget(facts) : 32;
}

/** The library entry point of `pg-preflight fix`. */
export async function fixSequences(opts: FixOptions): Promise<FixReport> {
  const t0 = nowMs();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const { targets } = resolveTargets(opts);
  const reports: FixTargetReport[] = [];
  for (const target of targets) {
    const checked = await checkTarget(target, opts, limits);
    if (checked.error) {
      reports.push({ target, plan: [], unfixable: [], error: checked.error });
      continue;
    }
    const { plan, unfixable } = planFrom(checked);
    const report: FixTargetReport = { target, serverVersion: checked.facts?.version, plan, unfixable, checkRoundTrips: pathRoundTrips(checked), ...(checked.connectedTo ? { connectedTo: checked.connectedTo } : {}) };
    reports.push(report);
    if (!opts.apply || plan.length === 0) continue;
    try {
      Object.assign(report, await applyPlan(target, plan, limits, opts.force === true, lockBudgetOf(opts, checked.facts), checked.facts?.major ?? 10));
    } catch (err) {
      if (!(err instanceof PreflightError)) throw err;
      report.error = err;
      continue;
    }
    if (report.refused) continue;
    // Each target was computed from the rows while the sequence was locked, and set in the same
    // transaction: what was applied is at or past its rows. What remains is what was not applied.
    const applied = new Set(report.applied!.filter((a) => !a.refused).map((a) => a.object + '\0' + a.check));
    report.remaining = needsAttention(plan.filter((p) => !applied.has(p.object + '\0' + p.check)), unfixable);
  }
  return { apply: opts.apply === true, force: opts.force === true, targets: reports, exitCode: exitCodeOf(reports, opts.apply === true), durationMs: nowMs() - t0 };
}

function exitCodeOf(reports: FixTargetReport[], apply: boolean): number {
  const failed = reports.find((r) => r.error);
  if (failed) return failed.error!.exitCode;
  const remains = reports.some((r) => {
    if (r.refused || r.applyError) return true;
    if (apply && r.plan.length > 0) return (r.remaining ?? []).length > 0;
    return needsAttention(r.plan, r.unfixable).length > 0;
  });
  return remains ? EXIT.findings : EXIT.ok;
}
