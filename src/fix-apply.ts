// `fix --apply`: moves sequences forward while the application may still be writing (--force),
// without ever handing an id out twice, and atomically.
//
// Race: reading a target in one statement and setting it in the next lets a writer take ids in
// between that the set then hands out again. So each sequence is locked first, with a no-op
// ALTER SEQUENCE (it takes ShareRowExclusiveLock, which conflicts with the RowExclusiveLock that
// nextval() holds to the end of its transaction; LOCK TABLE refuses sequences). The lock waits
// for every writer that has taken an id to finish and keeps new ones out; only then, in READ
// COMMITTED so that the statement sees the writers' committed rows, is the target read: GREATEST
// (LEAST counting down) of the sequence's own value and its rows, so it never goes backwards.
//
// Atomicity: setval is not undone by a rollback, so the value is set with ALTER SEQUENCE ...
// RESTART WITH and nextval(), which PostgreSQL 10+ does in a new relfilenode that a rollback
// throws away. A role that does not own a sequence can neither ALTER (lock) it nor RESTART it,
// only setval it: that is done when no other session is connected, and refused otherwise.
//
// Round trips: one to refuse (other sessions, without --force), lock and read; one to write and
// commit. The refusal is decided inside the first, before any lock is asked for, so that a
// refused fix never makes Synapse's writers wait.
//
// Locks: each sequence's lock must be held until its change commits, and a rollback to savepoint
// cannot release it while keeping the change. The table reads take their locks under a savepoint
// rolled back as they reach the budget (batches.ts), but the sequence locks add up: when there
// are more sequences than one transaction may lock within the budget, they go in consecutive
// transactions ("batches"), each atomic, in plan order, and the report says which committed.
import type { Session } from './connection.js';
import { quoteLiteral } from './quote.js';
import { decodeRows, savepointMessages, type Arm } from './sequences/batches.js';
import { transactionSettings } from './connection.js';
import type { SequenceName } from './sequences/remediation.js';

export interface SequenceGroup {
  sequence: SequenceName;
  /** Quoted schema.name. */
  qualified: string;
  /** schema.name as messages show it. */
  label: string;
  ascending: boolean;
  /** Everything the sequence must cover, from every fix planned for it. */
  covers: string[];
  /** Locks reading `covers` takes. */
  lockWeight: number;
}

export interface SequenceValue {
  lastValue: string;
  isCalled: boolean;
}

export interface GroupOutcome {
  before: SequenceValue;
  after: SequenceValue;
  /** The value computed under the lock. */
  target: string;
  changed: boolean;
  /** Set with setval, which a rollback does not undo. */
  outsideTransaction: boolean;
  /** Set when the sequence was left alone, with the reason. */
  refused?: string;
}

/** Other sessions were connected and --force was not given: nothing was locked or changed. */
export class OthersConnected extends Error {
  constructor() {
    super('other sessions are connected');
  }
}

// Client sessions only: autovacuum and other background workers come and go and do not write ids.
// A role without pg_read_all_stats sees another role's session with backend_type NULL (as it sees
// a background process): one with a user, in this database, counts, since it may be a writer.
const OTHERS_WHERE = `datname = current_database() AND pid <> pg_backend_pid()
   AND (backend_type = 'client backend' OR (backend_type IS NULL AND usename IS NOT NULL))`;

export const OTHER_SESSIONS_SQL = `
SELECT pid, usename AS "user", application_name AS "applicationName", client_addr::text AS "clientAddr", state
  FROM pg_stat_activity WHERE ${OTHERS_WHERE} ORDER BY pid`;

const REFUSED = 'pg-preflight: other sessions are connected';

/**
 * Sequences per transaction: each holds one lock to the commit, and the reads need room for at
 * least the heaviest arm under their savepoint. A quarter of the budget is kept for the reads.
 */
export function sequencesPerBatch(lockBudget: number): number {
  return Math.max(1, Math.floor((lockBudget * 3) / 4));
}

export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A dollar-quote tag that does not occur in `body`. */
function dollarTag(body: string): string {
  let tag = '$pgpf$';
  for (let n = 1; body.includes(tag); n++) tag = `$pgpf${n}$`;
  return tag;
}

/**
 * Without --force, refuses while other sessions are connected; then locks each sequence the role
 * owns, in order. One statement for all, which says which sequence it was waiting for when it
 * fails (a lock timeout names no relation). START WITH its own start value changes nothing but
 * takes the lock.
 */
export function lockSql(groups: readonly SequenceGroup[], force: boolean): string {
  const names = `ARRAY[${groups.map((g) => quoteLiteral(g.qualified)).join(', ')}]::text[]`;
  const labels = `ARRAY[${groups.map((g) => quoteLiteral(g.label)).join(', ')}]::text[]`;
  const body = `
DECLARE
  names text[] := ${names};
  labels text[] := ${labels};
  k int := 0;
BEGIN
  IF ${force ? 'false' : 'true'} AND EXISTS (SELECT FROM pg_stat_activity WHERE ${OTHERS_WHERE}) THEN
    RAISE EXCEPTION '${REFUSED}';
  END IF;
  BEGIN
    WHILE k < array_length(names, 1) LOOP
      k := k + 1;
      IF (SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = names[k]::regclass) THEN
        EXECUTE format('ALTER SEQUENCE %s START WITH %s', names[k], (SELECT seqstart FROM pg_sequence WHERE seqrelid = names[k]::regclass));
      END IF;
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = labels[k] || ': ' || SQLERRM;
  END;
END
`;
  const tag = dollarTag(body);
  return `DO ${tag}${body}${tag}`;
}

/** One row per sequence: its value, its target and whether the role owns it, read while it is locked. */
function readArms(groups: readonly SequenceGroup[]): Arm[] {
  return groups.map((g, i) => ({
    sql:
      `SELECT ${i} AS i, s.last_value::text AS l, s.is_called AS c, ` +
      `(${g.ascending ? 'GREATEST' : 'LEAST'}(s.last_value, ${g.covers.join(', ')}))::text AS t, ` +
      `(SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = ${quoteLiteral(g.qualified)}::regclass) AS o FROM ${g.qualified} s`,
    // The sequence itself is locked already; its lock is not a new one.
    weight: g.lockWeight,
  }));
}

interface ReadRow extends Record<string, unknown> {
  i: number;
  l: string;
  c: boolean;
  t: string;
  o: boolean;
}

interface WriteRow extends Record<string, unknown> {
  i: number;
  l: string;
}

/**
 * One transaction: BEGIN, refuse or lock, read (one round trip); set, COMMIT (the second).
 * Returns each group's outcome and the session's round trips before the write; throws OthersConnected, or the error after rolling back, with
 * which setvals (if any) stayed.
 */
export async function applyBatch(session: Session, groups: readonly SequenceGroup[], opts: { lockBudget: number; major: number; force: boolean }): Promise<{ outcomes: GroupOutcome[]; roundTripsBeforeWrite: number }> {
  const outside: string[] = [];
  try {
    // READ COMMITTED whatever default_transaction_isolation says: the read must see what the
    // writers committed while the lock waited for them. The first row (i = -1) counts the other
    // sessions, for the sequences only setval can set.
    const head = [
      'BEGIN ISOLATION LEVEL READ COMMITTED',
      // The same pins as a check's transaction (jit off): fix opens its own.
      ...transactionSettings(session.serverVersionNum),
      lockSql(groups, opts.force),
      `SELECT -1 AS i, count(*)::text AS l, NULL::boolean AS c, NULL::text AS t, NULL::boolean AS o FROM pg_stat_activity WHERE ${OTHERS_WHERE}`,
    ];
    // One message whatever its length: the lock and the reads belong in the same round trip.
    const reads = savepointMessages(readArms(groups), { lockBudget: Math.max(1, opts.lockBudget - groups.length), major: opts.major, oneMessage: true })[0] ?? { sql: "SELECT NULL::int AS i WHERE false", statements: 1 };
    const rows = decodeRows<ReadRow>(await session.query(`${head.join(';\n')};\n${reads.sql}`, undefined, { statements: reads.statements + 1, purpose: `locking and reading ${groups.length} sequences` }));
    const read = new Map(rows.map((r) => [r.i, r]));
    const others = Number(read.get(-1)!.l);
    const refusal =
      others === 0
        ? undefined
        : `not applied: the role does not own it, so it could only setval it, which cannot keep the ${others} other session${others > 1 ? 's' : ''} ` +
          'from taking ids meanwhile; run as its owner, or with the other sessions stopped';
    const writes: string[] = [];
    groups.forEach((g, i) => {
      const r = read.get(i)!;
      // A value not yet handed out (is_called false) is always set: that marks it handed out,
      // one step on at most.
      if ((!r.o && refusal) || (r.c && r.t === r.l)) return;
      if (r.o) writes.push(`ALTER SEQUENCE ${g.qualified} RESTART WITH ${r.t}`, `SELECT ${i} AS i, nextval(${quoteLiteral(g.qualified)})::text AS l`);
      else {
        writes.push(`SELECT ${i} AS i, setval(${quoteLiteral(g.qualified)}, ${r.t})::text AS l`);
        // Which setval ran is only known on success: on failure, every one sent is reported.
        outside.push(g.label);
      }
    });
    writes.push('COMMIT');
    const roundTripsBeforeWrite = session.roundTrips();
    const written = new Map((await session.query<WriteRow>(writes.join(';\n'))).map((w) => [w.i, w.l]));
    const outcomes = groups.map((g, i) => {
      const r = read.get(i)!;
      const before = { lastValue: r.l, isCalled: r.c };
      const after = written.has(i) ? { lastValue: written.get(i)!, isCalled: true } : before;
      return { before, after, target: r.t, changed: written.has(i), outsideTransaction: written.has(i) && !r.o, ...(!r.o && refusal ? { refused: refusal } : {}) };
    });
    return { outcomes, roundTripsBeforeWrite };
  } catch (err) {
    await session.query('ROLLBACK').catch(() => undefined);
    if ((err as Error).message === REFUSED) throw new OthersConnected();
    throw Object.assign(err as Error, { outsideTransaction: outside });
  }
}
