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
// Locks: each sequence's lock must be held until its change commits, and a rollback to savepoint
// cannot release it while keeping the change. The table reads take their locks under a savepoint
// rolled back as they reach the budget (batches.ts), but the sequence locks add up: when there
// are more sequences than one transaction may lock within the budget, they go in consecutive
// transactions ("batches"), each atomic, in plan order, and the report says which committed.
import type { Session } from './connection.js';
import { quoteLiteral } from './quote.js';
import { savepointBatches, type Arm } from './sequences/batches.js';
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
  owns: boolean;
  /** Set when the sequence is left alone, with the reason. */
  refusal?: string;
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
}

export interface BatchFailure {
  /** Index (0-based) of the batch that failed and was rolled back. */
  batch: number;
  message: string;
  /** Sequences of that batch already set with setval, which the rollback did not undo. */
  outsideTransaction: string[];
}

/**
 * Maxima through the index, as the checks read them (state.ts INDEX_READS). Before PostgreSQL 18
 * enable_seqscan = off adds 1e10 to the cost of any sequential scan left in the plan, far past
 * jit_above_cost: a server built with LLVM (Debian's) would compile every statement of arms.
 */
export function readSettings(major: number): Record<string, string> {
  return major >= 11 && major < 18 ? { enable_seqscan: 'off', jit: 'off' } : { enable_seqscan: 'off' };
}

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
 * Locks each sequence in order. One statement for all, which says which sequence it was waiting
 * for when it fails (a lock timeout names no relation). START WITH its own start value changes
 * nothing but takes the lock.
 */
export function lockSql(groups: readonly SequenceGroup[]): string {
  const names = `ARRAY[${groups.map((g) => quoteLiteral(g.qualified)).join(', ')}]::text[]`;
  const labels = `ARRAY[${groups.map((g) => quoteLiteral(g.label)).join(', ')}]::text[]`;
  const body = `
DECLARE
  names text[] := ${names};
  labels text[] := ${labels};
  k int := 0;
BEGIN
  WHILE k < array_length(names, 1) LOOP
    k := k + 1;
    EXECUTE format('ALTER SEQUENCE %s START WITH %s', names[k], (SELECT seqstart FROM pg_sequence WHERE seqrelid = names[k]::regclass));
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = labels[k] || ': ' || SQLERRM;
END
`;
  const tag = dollarTag(body);
  return `DO ${tag}${body}${tag}`;
}

/** One row per sequence: its value and its target, read while it is locked. */
function readArms(groups: readonly SequenceGroup[]): Arm[] {
  return groups.map((g, i) => ({
    sql:
      `SELECT ${i} AS i, s.last_value::text AS l, s.is_called AS c, ` +
      `(${g.ascending ? 'GREATEST' : 'LEAST'}(s.last_value, ${g.covers.join(', ')}))::text AS t FROM ${g.qualified} s`,
    // The sequence itself is locked already; its lock is not a new one.
    weight: g.lockWeight,
  }));
}

interface ReadRow extends Record<string, unknown> {
  i: number;
  l: string;
  c: boolean;
  t: string;
}

interface WriteRow extends Record<string, unknown> {
  i: number;
  l: string;
}

/**
 * One transaction: BEGIN, lock, read (one round trip); set, COMMIT (the second). Returns each
 * group's outcome, or throws after rolling back, with which setvals (if any) stayed.
 */
export async function applyBatch(session: Session, groups: readonly SequenceGroup[], lockBudget: number, major: number): Promise<GroupOutcome[]> {
  const owned = groups.filter((g) => g.owns && !g.refusal);
  const outside: string[] = [];
  try {
    // READ COMMITTED whatever default_transaction_isolation says: the read must see what the
    // writers committed while the lock waited for them.
    const head = ['BEGIN ISOLATION LEVEL READ COMMITTED'];
    if (owned.length > 0) head.push(lockSql(owned));
    const reads = savepointBatches(readArms(groups), Math.max(1, lockBudget - groups.length), readSettings(major));
    const rows = await session.query<ReadRow>(`${head.join(';\n')};\n${reads}`);
    const read = new Map(rows.map((r) => [r.i, r]));
    const writes: string[] = [];
    groups.forEach((g, i) => {
      const r = read.get(i)!;
      // A refused sequence is only read, to show where it is. A value not yet handed out
      // (is_called false) is always set: that marks it handed out, one step on at most.
      if (g.refusal || (r.c && r.t === r.l)) return;
      if (g.owns) writes.push(`ALTER SEQUENCE ${g.qualified} RESTART WITH ${r.t}`, `SELECT ${i} AS i, nextval(${quoteLiteral(g.qualified)})::text AS l`);
      else {
        writes.push(`SELECT ${i} AS i, setval(${quoteLiteral(g.qualified)}, ${r.t})::text AS l`);
        // Which setval ran is only known on success: on failure, every one sent is reported.
        outside.push(g.label);
      }
    });
    writes.push('COMMIT');
    const written = new Map((await session.query<WriteRow>(writes.join(';\n'))).map((w) => [w.i, w.l]));
    return groups.map((g, i) => {
      const r = read.get(i)!;
      const before = { lastValue: r.l, isCalled: r.c };
      const after = written.has(i) ? { lastValue: written.get(i)!, isCalled: true } : before;
      return { before, after, target: r.t, changed: written.has(i), outsideTransaction: written.has(i) && !g.owns };
    });
  } catch (err) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw Object.assign(err as Error, { outsideTransaction: outside });
  }
}
