// Reads the state of many sequences and the extremes of the table columns they feed, in a fixed
// number of round trips whatever their number:
//  1. the catalog query (catalog-query.ts): which sequences, which columns, indexes, estimates;
//  2. multi-statement messages (batches.ts): every sequence's value and every non-empty column's
//     MAX/MIN (one message per 10,000 sequences, 2,000 before PostgreSQL 13);
//  3. only when another session holds ACCESS EXCLUSIVE on something to read: who it is;
//  4. on PostgreSQL 10-17 only, when pg_sequence_last_value was used and some sequence has not
//     handed out a value yet: those sequences read directly (see valueReadFor).
import { quoteIdent, quoteLiteral, quoteQualified } from '../quote.js';
import { NUMERIC_LOCALPART_RANGE, SYNAPSE_SEQUENCES, type ColumnAggregate, type SynapseSequence } from '../synapse/sequences.js';
import type { QueryFn, ReaderSession, ServerFacts } from '../types.js';
import { accessExclusiveHolders, describeLock, type LockHolder } from '../lock-holders.js';
import { costOf, halves, queryMessage, readInTurn, SAVEPOINT, savepointMessages, type Arm, type Message } from './batches.js';
import { sequenceCatalogSql } from './catalog-query.js';

/** `min` is a descending sequence's own column: it counts down, so the smallest value matters. */
export type Aggregate = ColumnAggregate | 'min';

export type UnreadReason =
  | { code: 'large-unindexed'; rows: number }
  | { code: 'no-privilege' }
  | { code: 'foreign-table' }
  | { code: 'not-requested' }
  /** Another session holds (or waits for) ACCESS EXCLUSIVE on the table: reading it would wait. */
  | { code: 'locked'; holders: LockHolder[] };

export interface ColumnState {
  tableOid: number;
  schema: string;
  table: string;
  column: string;
  relkind: string;
  aggregate: Aggregate;
  /** From Synapse's catalogue: compared as Synapse compares (GREATEST(agg, 0)). */
  synapse: boolean;
  rowEstimate: number;
  indexed: boolean;
  lockWeight: number;
  unread?: UnreadReason;
  /**
   * What the sequence must cover: the maximum (or -MIN, or the largest numeric localpart) for an
   * ascending sequence, the minimum for a descending one; null for an empty table.
   */
  bound?: bigint | null;
}

export interface SequenceState {
  oid: number;
  schema: string;
  name: string;
  increment: bigint;
  minValue: bigint;
  maxValue: bigint;
  synapse?: SynapseSequence;
  /** A column owns it (serial, OWNED BY) or it backs an identity column. */
  owned: boolean;
  identity: boolean;
  columns: ColumnState[];
  /** Why its value could not be read (privileges, a lock); the other fields below are then unset. */
  unreadable?: string;
  /**
   * lastValue and isCalled stay unset, without `unreadable`, when no table of the sequence has
   * rows to compare it with (all empty, or not read for the reason each column's `unread` gives).
   */
  /** Another session holds ACCESS EXCLUSIVE on the sequence itself (until `unreadable` says by whom). */
  locked?: boolean;
  lastValue?: bigint;
  isCalled?: boolean;
}

export interface ReadRequest {
  /** Synapse sequences that belong in this database (already filtered by data store). */
  catalogue: readonly SynapseSequence[];
  /** Also every sequence owned by a column or backing an identity column. */
  owned: boolean;
  /** Read the table extremes (sequence-drift), or only the sequence values (stream-positions). */
  extremes: boolean;
  /** Read extremes of large tables even without a usable index. */
  thorough: boolean;
  /** Above this row estimate, a column without a usable btree index is not scanned. */
  unindexedRowLimit: number;
  /** Locks one batch may hold before they are released (batches.ts). */
  lockBudget: number;
  /**
   * Only these of the sequences the catalog read finds are read and returned. With it a check
   * can ask the catalog exactly as another check does (same catalogue and owned), and a batching
   * query function then sends that read once for both: stream-positions shares sequence-drift's.
   */
  keep?: (s: SequenceState) => boolean;
  /** A second session to read beside the first (CheckContext.openReader), taken when the reads cost READER_COST or more. */
  openReader?: () => Promise<ReaderSession | undefined>;
}

interface CatalogRow extends Record<string, unknown> {
  /** null in the one row that only carries `settled` (every sequence settled). */
  seq_oid: string | null;
  seq_schema: string;
  seq_name: string;
  increment: string;
  min_value: string;
  max_value: string;
  seq_select: boolean;
  synapse: string | null;
  agg: ColumnAggregate | null;
  identity: boolean;
  table_oid: string;
  table_schema: string;
  table_name: string;
  relkind: string;
  column_name: string;
  table_select: boolean;
  row_estimate: number;
  indexed: boolean;
  lock_weight: number;
  table_locked: boolean;
  seq_locked: boolean;
  /** The table's file is empty; false also where the statistics say it has pages or rows; null where not asked (partitioned, inherited, locked). */
  empty: boolean | null;
  /** How many owned sequences the query left out because every table of theirs is empty. */
  settled: number;
}

/** What readSequenceStates found. */
export interface SequenceRead {
  states: SequenceState[];
  /**
   * Sequences that only columns own (none of Synapse's) whose every table is empty, that the role
   * may read and no one locks: nothing can be above them, so the catalog query counts them instead of listing
   * them. Each counts as compared.
   */
  settled: number;
}

interface ValueRow extends Record<string, unknown> {
  i: number;
  l: string | null;
  c: boolean | null;
  m?: (string | null)[];
}

const BY_NAME = new Map(SYNAPSE_SEQUENCES.map((s) => [s.sequence, s]));

/** Integer part of a numeric text, rounded towards where the sequence must go. */
function toBigInt(text: string, roundUp: boolean): bigint {
  const [whole, fraction = ''] = text.split('.');
  let value = BigInt(whole!);
  if (/[1-9]/.test(fraction)) {
    if (roundUp && !text.startsWith('-')) value += 1n;
    if (!roundUp && text.startsWith('-')) value -= 1n;
  }
  return value;
}

/** Code point order, as the C collation sorts: stable whatever the locale. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Assembles the catalog rows into sequences, each column once (a Synapse sequence may also be owned). */
function assemble(rows: CatalogRow[], req: ReadRequest): SequenceState[] {
  const byOid = new Map<number, SequenceState>();
  for (const r of rows) {
    if (r.seq_oid === null) continue;
    const oid = Number(r.seq_oid);
    let s = byOid.get(oid);
    if (!s) {
      s = {
        oid,
        schema: r.seq_schema,
        name: r.seq_name,
        increment: BigInt(r.increment),
        minValue: BigInt(r.min_value),
        maxValue: BigInt(r.max_value),
        owned: false,
        identity: false,
        columns: [],
      };
      if (!r.seq_select) s.unreadable = 'the role has no SELECT privilege on it, or no USAGE on its schema';
      else if (r.seq_locked) s.locked = true;
      byOid.set(oid, s);
    }
    if (r.synapse) s.synapse = BY_NAME.get(r.synapse);
    else {
      s.owned = true;
      if (r.identity) s.identity = true;
    }
    const aggregate: Aggregate = r.agg ?? (s.increment < 0n ? 'min' : 'max');
    const tableOid = Number(r.table_oid);
    const existing = s.columns.find((c) => c.tableOid === tableOid && c.column === r.column_name && c.aggregate === aggregate);
    if (existing) {
      existing.synapse ||= r.synapse !== null;
      continue;
    }
    const column: ColumnState = {
      tableOid,
      schema: r.table_schema,
      table: r.table_name,
      column: r.column_name,
      relkind: r.relkind,
      aggregate,
      synapse: r.synapse !== null,
      rowEstimate: Math.round(r.row_estimate),
      indexed: r.indexed,
      lockWeight: r.lock_weight,
    };
    const large = column.rowEstimate > req.unindexedRowLimit;
    if (!req.extremes) column.unread = { code: 'not-requested' };
    else if (r.relkind === 'f') column.unread = { code: 'foreign-table' };
    else if (!r.table_select) column.unread = { code: 'no-privilege' };
    // A range of numeric user names is read through the index, but all of it: Synapse skips this
    // one as too expensive, and so do we on a large users table unless asked.
    else if (r.table_locked) column.unread = { code: 'locked', holders: [] };
    else if (r.empty) column.bound = null;
    else if (large && !req.thorough && (!r.indexed || aggregate === 'numeric-localpart')) column.unread = { code: 'large-unindexed', rows: column.rowEstimate };
    s.columns.push(column);
  }
  // Synapse's sequences list their tables in Synapse's order, owned columns after, by name.
  for (const s of byOid.values()) {
    const order = s.synapse?.columns ?? [];
    const rank = (c: ColumnState) => {
      const i = c.synapse ? order.findIndex((o) => o.table === c.table && o.column === c.column) : -1;
      return i < 0 ? order.length : i;
    };
    s.columns.sort((a, b) => rank(a) - rank(b) || byText(a.schema, b.schema) || byText(a.table, b.table) || byText(a.column, b.column));
  }
  return [...byOid.values()].sort((a, b) => byText(a.schema, b.schema) || byText(a.name, b.name));
}

/** The SQL expression for one column's extreme, as text (bigint and numeric both survive ::text). */
export function extremeSql(c: Pick<ColumnState, 'schema' | 'table' | 'column' | 'aggregate'>): string {
  const table = quoteQualified(c.schema, c.table);
  const col = quoteIdent(c.column);
  switch (c.aggregate) {
    case 'max':
      return `(SELECT max(${col}) FROM ${table})`;
    case 'min':
    case 'negated-min':
      return `(SELECT min(${col}) FROM ${table})`;
    case 'numeric-localpart':
      return (
        `(SELECT max(substring(${col} FROM '^@([0-9]+):')::numeric) FROM ${table}` +
        ` WHERE ${col} >= ${quoteLiteral(NUMERIC_LOCALPART_RANGE.from)} AND ${col} < ${quoteLiteral(NUMERIC_LOCALPART_RANGE.below)})`
      );
  }
}

function boundOf(c: ColumnState, raw: string | null): bigint | null {
  if (raw === null) return null;
  const ascending = c.aggregate !== 'min';
  let value = toBigInt(raw, ascending);
  if (c.aggregate === 'negated-min') value = -value;
  // Synapse reads SELECT GREATEST(<agg>, 0): a negative extreme counts as 0.
  if (c.synapse && value < 0n) value = 0n;
  return value;
}

type ValueRead = 'sequence-data' | 'last-value-function' | 'direct';

/**
 * How to read the sequences' values. PostgreSQL 18's pg_get_sequence_data returns last_value and
 * is_called without planning a query per sequence. Before 18, pg_sequence_last_value is 3-7
 * times cheaper than a query on the sequence (measured: 10,000 sequences, 0.2-0.45 s against
 * 1.4-1.6 s of server CPU on PostgreSQL 10), but it takes its lock for the whole transaction
 * (init_sequence locks under the top transaction's resource owner, which a rollback to
 * savepoint does not release) and says NULL for a sequence that has not handed out a value.
 * So it is used while the sequences fit in half the lock budget, with a second, direct read of
 * the NULL ones; beyond that every sequence is read directly, under the savepoint batches.
 */
function valueReadFor(facts: ServerFacts, count: number, lockBudget: number): ValueRead {
  if (facts.major >= 18) return 'sequence-data';
  return count <= lockBudget / 2 ? 'last-value-function' : 'direct';
}

function valueColumns(how: ValueRead, s: SequenceState): { select: string; from: string } {
  switch (how) {
    case 'sequence-data':
      return { select: 'd.last_value::text AS l, d.is_called AS c', from: ` FROM pg_get_sequence_data(${s.oid}::oid::regclass) d` };
    case 'last-value-function':
      return { select: `pg_sequence_last_value(${s.oid}::oid::regclass)::text AS l, NULL::boolean AS c`, from: '' };
    case 'direct':
      return { select: 's.last_value::text AS l, s.is_called AS c', from: ` FROM ${quoteQualified(s.schema, s.name)} s` };
  }
}

/** Names each locked column's (or sequence's) holders; one query, only when something is locked. */
async function nameLockHolders(query: QueryFn, states: SequenceState[]): Promise<void> {
  const lockedColumns = states.flatMap((s) => s.columns.filter((c) => c.unread?.code === 'locked'));
  const lockedSequences = states.filter((s) => s.locked && !s.unreadable);
  if (lockedColumns.length === 0 && lockedSequences.length === 0) return;
  const holders = await accessExclusiveHolders(query);
  for (const c of lockedColumns) {
    (c.unread as { holders: LockHolder[] }).holders = holders.filter((h) => h.tableOid === c.tableOid);
  }
  for (const s of lockedSequences) {
    const own = holders.filter((h) => h.relationOid === s.oid);
    s.unreadable = describeLock(quoteQualified(s.schema, s.name), own);
  }
}

/** Marks the columns of tables that `holders` lock, so that the next attempt leaves them out. */
function markLocked(states: readonly SequenceState[], holders: readonly LockHolder[]): number {
  let marked = 0;
  for (const s of states) {
    for (const c of s.columns) {
      if (c.unread || c.bound !== undefined) continue;
      const own = holders.filter((h) => h.tableOid === c.tableOid);
      if (own.length > 0) {
        c.unread = { code: 'locked', holders: own };
        marked++;
      }
    }
    const own = holders.filter((h) => h.relationOid === s.oid);
    if (own.length > 0 && !s.unreadable) {
      s.unreadable = describeLock(quoteQualified(s.schema, s.name), own);
      marked++;
    }
  }
  return marked;
}

/**
 * What reading a column costs beyond one read through an index, in such reads: a scan of a table
 * without a usable index (or of every numeric localpart) costs about one per thousand rows.
 */
function scanCost(c: ColumnState): number {
  return c.indexed && c.aggregate !== 'numeric-localpart' ? 0 : Math.ceil(c.rowEstimate / 1_000);
}

/** A lock taken between the catalog query and the reads: at most this many fresh attempts. */
const LOCK_RETRIES = 3;

/**
 * Reads (in reads through an index) from which a second session reads half of them: about 50 ms
 * of the server's time, against a login of a few milliseconds that overlaps the first half.
 */
export const READER_COST = 400;

interface SequenceArm extends Arm {
  /** Index into the readable sequences. */
  at: number;
}

export async function readSequenceStates(given: QueryFn, facts: ServerFacts, req: ReadRequest): Promise<SequenceRead> {
  // The catalog query is the longest read of a check, and what follows it depends on its rows:
  // the whole chain asks for the runner's second session (QueryOptions.beside).
  const query: QueryFn = (sql, params, opts) => given(sql, params, { ...opts, beside: true });
  const triples = req.catalogue.flatMap((s) => s.columns.map((c) => [s.sequence, c.table, c.column, c.aggregate] as const));
  const catalog = (statFiles: boolean) =>
    query<CatalogRow>(
      sequenceCatalogSql(facts.major, statFiles),
      [triples.map((t) => t[0]), triples.map((t) => t[1]), triples.map((t) => t[2]), triples.map((t) => t[3]), req.owned],
      { purpose: 'reading the catalog of sequences and their tables', shareable: true },
    );
  let rows: CatalogRow[];
  try {
    rows = await catalog(facts.isSuperuser);
  } catch (err) {
    // A superuser whose server still refuses it the file (a hosted one that restricts
    // pg_stat_file, or a file it may not stat): the tables are opened instead.
    if (!facts.isSuperuser || (err as { code?: string }).code !== '42501') throw err;
    rows = await catalog(false);
  }
  const states = assemble(rows, req).filter((s) => !req.keep || req.keep(s));
  const settled = req.keep ? 0 : (rows[0]?.settled ?? 0);
  await nameLockHolders(query, states);
  // A sequence whose tables are all empty (or unreadable) has nothing to be compared with, and
  // its value is not read: at 10,000 serial tables of which most are empty, planning a read of
  // each sequence is most of the cost.
  const readable = states.filter((s) => !s.unreadable && (!req.extremes || s.columns.some((c) => !c.unread && c.bound === undefined)));
  if (readable.length === 0) return { states, settled };

  const how = valueReadFor(facts, readable.length, req.lockBudget);
  const armFor = (s: SequenceState, at: number): SequenceArm => {
    const { select, from } = valueColumns(how, s);
    const read = s.columns.filter((c) => !c.unread && c.bound === undefined);
    const extremes = s.columns.map((c) => (c.unread || c.bound !== undefined ? 'NULL' : `${extremeSql(c)}::text`));
    return {
      at,
      sql: `SELECT ${at} AS i, ${select}, ARRAY[${extremes.join(', ')}]::text[] AS m${from}`,
      weight: 1 + read.reduce((sum, c) => sum + c.lockWeight, 0),
      cost: 1 + read.reduce((sum, c) => sum + scanCost(c), 0),
    };
  };
  // Locks pg_sequence_last_value keeps to the end are not the batches' to spend.
  const budget = how === 'last-value-function' ? req.lockBudget - readable.length : req.lockBudget;
  const arms = readable.map(armFor);
  const reader = req.openReader && costOf(arms) >= READER_COST ? req.openReader() : undefined;
  // Two sessions hold their batches' locks at the same time: each gets half the budget.
  const sessionBudget = reader ? Math.max(1, Math.floor(budget / 2)) : budget;
  const messages = (reader ? halves(arms) : [arms]).flatMap((part) => savepointMessages(part, { lockBudget: sessionBudget, major: facts.major }));
  const purposeOf = (m: Message) => `reading ${m.arms.length} sequence${m.arms.length === 1 ? '' : 's'} and the largest ids of their tables`;
  const pending: number[] = [];
  const take = (values: readonly ValueRow[]) => {
    for (const row of values) {
      const s = readable[row.i]!;
      s.columns.forEach((c, k) => {
        if (!c.unread && c.bound === undefined) c.bound = boundOf(c, row.m?.[k] ?? null);
      });
      if (row.l !== null) {
        s.lastValue = BigInt(row.l);
        s.isCalled = row.c ?? true;
      } else pending.push(row.i);
    }
  };
  const readHere = async (message: Message<SequenceArm>): Promise<ValueRow[]> => {
    let attempt: Message<SequenceArm> | undefined = message;
    for (let tries = 0; attempt; tries++) {
      try {
        return await queryMessage<ValueRow>(query, attempt, purposeOf(attempt));
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03' || tries >= LOCK_RETRIES) throw err;
        // Locked since the catalog query: leave those tables out and read the rest again. A
        // batching query function has already rolled the failed message back (its savepoint
        // then no longer exists, and this fails harmlessly under the batcher's own).
        await query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`).catch(() => undefined);
        const inMessage = message.arms.map((a) => readable[a.at]!);
        if (markLocked(inMessage, await accessExclusiveHolders(query)) === 0) throw err;
        const again = inMessage.filter((x) => !x.unreadable).map((x) => armFor(x, readable.indexOf(x)));
        attempt = savepointMessages(again, { lockBudget: sessionBudget, major: facts.major, oneMessage: true })[0];
      }
    }
    return [];
  };
  // What the second session cannot read, this one reads again, with its handling of locks.
  const there = reader?.then((session) => session && ((m: Message<SequenceArm>) => queryMessage<ValueRow>(session.query, m, purposeOf(m))));
  await readInTurn(messages, readHere, there, take);

  if (pending.length > 0) {
    const direct: Arm[] = pending.map((i) => {
      const s = readable[i]!;
      return { sql: `SELECT ${i} AS i, last_value::text AS l, is_called AS c FROM ${quoteQualified(s.schema, s.name)}`, weight: 1 };
    });
    for (const message of savepointMessages(direct, { lockBudget: req.lockBudget, major: facts.major })) {
      for (const row of await queryMessage<ValueRow>(query, message, `reading ${message.arms.length} sequences`)) {
        const s = readable[row.i]!;
        s.lastValue = BigInt(row.l!);
        s.isCalled = row.c!;
      }
    }
  }
  return { states, settled };
}
