// `pg-preflight fix`: the sequence findings' SQL as a plan, and, with apply, that same change made
// in one writable transaction on a database nobody else is connected to. Every statement sets a
// sequence to GREATEST (LEAST counting down) of its own last_value and its rows, so it can only
// move a sequence forward, and running the fix again changes nothing.
//
// The plan prints setval, which is what a user pastes. setval is not transactional, though: a
// rollback does not undo it. So --apply sets the same value with ALTER SEQUENCE ... RESTART WITH
// followed by nextval(): PostgreSQL 10+ gives the sequence a new relfilenode for the ALTER, and
// both are undone together if any later statement fails, so the plan applies whole or not at all.
import { resolveTargets, type TargetInput } from './config/resolve.js';
import type { DatabaseTarget } from './config/target.js';
import { DEFAULT_LIMITS, openSession, type Session, type SessionLimits } from './connection.js';
import { EXIT, PreflightError } from './errors.js';
import { quoteLiteral, quoteQualified } from './quote.js';
import { allChecks, findCheck } from './registry.js';
import { runChecks, type TargetReport } from './runner.js';
import type { FixSpec, SequenceName } from './sequences/remediation.js';
import { statusAtLeast, type CheckOptions, type ParamValues, type Status } from './types.js';

/** The checks whose findings `fix` can act on. */
export const FIX_CHECK_IDS = ['sequence-drift', 'stream-positions'] as const;

export interface FixOptions extends TargetInput {
  /** Run the plan; without it, only report it. */
  apply?: boolean;
  /** Apply even while other sessions are connected to the database. */
  force?: boolean;
  limits?: Partial<SessionLimits>;
  options?: CheckOptions;
  params?: Record<string, ParamValues>;
}

export interface PlannedFix {
  check: string;
  status: Status;
  object: string;
  sequence: SequenceName;
  summary: string;
  /** Exactly the SQL the finding prints. */
  sql: string;
  /** The value that SQL gives setval; --apply sets it transactionally. */
  valueSql: string;
  ascending: boolean;
}

/** A finding of the fix checks that no setval here addresses. */
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

export interface SequenceValue {
  lastValue: string;
  isCalled: boolean;
}

export interface AppliedFix extends PlannedFix {
  before: SequenceValue;
  after: SequenceValue;
  changed: boolean;
}

export interface FixTargetReport {
  target: DatabaseTarget;
  serverVersion?: string;
  plan: PlannedFix[];
  unfixable: Unfixable[];
  /** Set when other sessions were connected and --force was not given: nothing was changed. */
  refused?: { sessions: OtherSession[] };
  /** Set after --apply: each statement with the sequence's value before and after it. */
  applied?: AppliedFix[];
  /** Why applying stopped part-way (a permission, a timeout). */
  applyError?: string;
  /** After --apply: what the checks still report that needs attention. */
  remaining?: (PlannedFix | Unfixable)[];
  /** The database could not be reached. */
  error?: PreflightError;
}

export interface FixReport {
  apply: boolean;
  force: boolean;
  targets: FixTargetReport[];
  /** 0: everything fixable is fixed (or nothing needed fixing); 1: something remains; 3: a database was not reached. */
  exitCode: number;
  durationMs: number;
}

// Client sessions only: autovacuum and other background workers come and go and do not write ids.
const OTHER_SESSIONS_SQL = `
SELECT pid, usename AS "user", application_name AS "applicationName", client_addr::text AS "clientAddr", state
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
 ORDER BY pid`;

function isFixSpec(value: unknown): value is FixSpec {
  const v = value as FixSpec | undefined;
  return (
    typeof v?.sql === 'string' && typeof v.valueSql === 'string' && typeof v.ascending === 'boolean' &&
    typeof v.sequence?.schema === 'string' && typeof v.sequence?.name === 'string'
  );
}

/** Splits the findings of the fix checks into the plan and what the plan leaves alone. */
function planFrom(t: TargetReport): { plan: PlannedFix[]; unfixable: Unfixable[] } {
  const plan: PlannedFix[] = [];
  const unfixable: Unfixable[] = [];
  for (const r of t.results) {
    for (const f of r.findings) {
      const fix = f.details?.fix;
      if (isFixSpec(fix)) plan.push({ check: r.id, status: f.status, object: f.object ?? `${fix.sequence.schema}.${fix.sequence.name}`, sequence: fix.sequence, summary: fix.summary, sql: fix.sql, valueSql: fix.valueSql, ascending: fix.ascending });
      else if (f.status !== 'ok') unfixable.push({ check: r.id, status: f.status, object: f.object, message: f.message });
    }
  }
  return { plan, unfixable };
}

async function readValue(session: Session, seq: SequenceName): Promise<SequenceValue> {
  const [row] = await session.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${quoteQualified(seq.schema, seq.name)}`);
  return { lastValue: row!.last_value, isCalled: row!.is_called };
}

interface TargetRead {
  target: bigint;
  /** The last value already handed out: last_value, or last_value - increment before the first nextval. */
  current: bigint;
  /** ALTER SEQUENCE needs ownership; setval needs only UPDATE. */
  owns: boolean;
}

async function readTarget(session: Session, fix: PlannedFix): Promise<TargetRead> {
  const seq = quoteQualified(fix.sequence.schema, fix.sequence.name);
  const [row] = await session.query<{ target: string; last_value: string; is_called: boolean; increment: string; owns: boolean }>(
    `SELECT (${fix.valueSql})::text AS target, s.last_value::text AS last_value, s.is_called,
            (SELECT seqincrement::text FROM pg_sequence WHERE seqrelid = ${quoteLiteral(seq)}::regclass) AS increment,
            (SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = ${quoteLiteral(seq)}::regclass) AS owns
       FROM ${seq} s`,
  );
  const last = BigInt(row!.last_value);
  return { target: BigInt(row!.target), current: row!.is_called ? last : last - BigInt(row!.increment), owns: row!.owns };
}

/** Sets last_value to `value`, marked handed out, exactly as setval(seq, value) would, but undone by a rollback. */
async function setTransactionally(session: Session, seq: SequenceName, value: bigint): Promise<void> {
  const qualified = quoteQualified(seq.schema, seq.name);
  await session.query(`ALTER SEQUENCE ${qualified} RESTART WITH ${value}`);
  await session.query(`SELECT nextval(${quoteLiteral(qualified)})`);
}

/** One writable transaction: for every planned statement in order, read, set, read again. */
async function applyPlan(target: DatabaseTarget, plan: PlannedFix[], limits: SessionLimits, force: boolean): Promise<Pick<FixTargetReport, 'refused' | 'applied' | 'applyError'>> {
  const session = await openSession(target, limits);
  try {
    const others = await session.query<OtherSession & Record<string, unknown>>(OTHER_SESSIONS_SQL);
    if (others.length > 0 && !force) return { refused: { sessions: others } };
    const applied: AppliedFix[] = [];
    const outsideTransaction: string[] = [];
    // The session keeps the statement_timeout and lock_timeout it was opened with.
    await session.query('BEGIN');
    try {
      for (const fix of plan) {
        const before = await readValue(session, fix.sequence);
        const { target: value, current, owns } = await readTarget(session, fix);
        if (fix.ascending ? value > current : value < current) {
          if (owns) await setTransactionally(session, fix.sequence, value);
          else {
            // A role with UPDATE but not ownership can only setval, which a rollback does not undo.
            await session.query(fix.sql);
            outsideTransaction.push(fix.object);
          }
        }
        const after = await readValue(session, fix.sequence);
        applied.push({ ...fix, before, after, changed: before.lastValue !== after.lastValue || before.isCalled !== after.isCalled });
      }
      await session.query('COMMIT');
      return { applied };
    } catch (err) {
      await session.query('ROLLBACK').catch(() => undefined);
      if (err instanceof PreflightError) throw err;
      const failed = plan[applied.length];
      const message = (err as Error).message;
      return {
        applied: [],
        applyError:
          `${failed ? `${failed.object}: ` : ''}${message}. The transaction was rolled back: ` +
          (outsideTransaction.length === 0
            ? 'no sequence was changed.'
            : `no sequence was changed except ${outsideTransaction.join(', ')}, set with setval (the role does not own ${outsideTransaction.length > 1 ? 'them' : 'it'}), which a rollback does not undo and which only moved forward.`) +
          ' Fix the cause and run the fix again.',
      };
    }
  } finally {
    await session.close();
  }
}

async function checkTarget(target: DatabaseTarget, opts: FixOptions, limits: SessionLimits): Promise<TargetReport> {
  const checks = FIX_CHECK_IDS.map((id) => findCheck(allChecks(), id));
  const report = await runChecks({ targets: [target], checks, limits, options: opts.options, params: opts.params });
  return report.targets[0]!;
}

function needsAttention(plan: PlannedFix[], unfixable: Unfixable[]): (PlannedFix | Unfixable)[] {
  return [...plan, ...unfixable.filter((u) => statusAtLeast(u.status, 'error'))];
}

/** The library entry point of `pg-preflight fix`. */
export async function fixSequences(opts: FixOptions): Promise<FixReport> {
  const t0 = performance.now();
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
    const report: FixTargetReport = { target, serverVersion: checked.facts?.version, plan, unfixable };
    reports.push(report);
    if (!opts.apply || plan.length === 0) continue;
    try {
      Object.assign(report, await applyPlan(target, plan, limits, opts.force === true));
    } catch (err) {
      if (!(err instanceof PreflightError)) throw err;
      report.error = err;
      continue;
    }
    if (report.refused) continue;
    const again = await checkTarget(target, opts, limits);
    if (again.error) report.error = again.error;
    else {
      const after = planFrom(again);
      report.remaining = needsAttention(after.plan, after.unfixable);
    }
  }
  return { apply: opts.apply === true, force: opts.force === true, targets: reports, exitCode: exitCodeOf(reports, opts.apply === true), durationMs: performance.now() - t0 };
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
