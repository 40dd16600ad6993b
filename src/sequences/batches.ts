// Reading thousands of relations in one transaction runs into PostgreSQL's shared lock table:
// every sequence, table and index read takes a lock that is normally held to the end of the
// transaction, and the table is sized max_locks_per_transaction × (connections + workers) for
// the whole server. Measured: one statement over 10,000 serial tables fails with "out of shared
// memory" on a server with default settings, and would starve the application's own sessions on
// the way there. Locks taken after a savepoint are released when the savepoint is rolled back to
// (PostgreSQL docs, "Explicit Locking"), and a rollback to savepoint keeps the REPEATABLE READ
// snapshot. So the reads go out as one multi-statement message, with a ROLLBACK TO SAVEPOINT
// whenever the locks taken reach the budget. A few round trips, however many batches: see
// savepointMessages.
//
// The shape of a statement. A UNION ALL costs the server more per arm the more arms it has
// (Debian's 15, 1,429 reads after the catalog query: 231 ms in UNION ALLs of 100 arms, 160 ms of
// 25; at a few thousand arms the backend runs out of memory), but statements of 25 arms are many
// statements, and the client's wait for a message grows with them (connection.ts). So a statement
// runs its UNION ALLs of 25 arms one by one through query_to_xml, which plans and runs each apart
// (SPI), within the transaction's snapshot and locks: 1,429 reads take the embedded 18 150 ms in
// statements of 600 arms, as in UNION ALLs of 25, against 192 ms with one query_to_xml call an
// arm. Each arm's row comes back as row_to_json text inside the XML (decodeRows).
import type { QueryFn, ServerFacts } from '../types.js';
import { quoteLiteral } from '../quote.js';

export interface Arm {
  /** One SELECT producing one row; every arm of a call has the same columns. */
  sql: string;
  /** Locks it takes: the sequence, each table read and each of that table's indexes. */
  weight: number;
  /**
   * What it costs the server, in reads through an index (1, the default): a scan of a table
   * without a usable index costs more, so that a statement stays far within statement_timeout.
   */
  cost?: number;
}

const armCost = (arm: Arm): number => arm.cost ?? 1;

/** What the arms cost the server together. */
export function costOf(arms: readonly Arm[]): number {
  return arms.reduce((n, a) => n + armCost(a), 0);
}

export const SAVEPOINT = 'pg_preflight_sequences';

/** Arms one query_to_xml call runs, as one UNION ALL. */
const ARMS_PER_GROUP = 25;

/**
 * Cost one statement may hold: about 100 ms of reads through indexes, far within any
 * statement_timeout; at PostgreSQL's default lock settings the lock budget ends a statement first
 * (650 such reads).
 */
const COST_PER_STATEMENT = 1_000;

/**
 * Statements one message may hold from PostgreSQL 13, where each may take up to
 * statement_timeout and the client waits for the sum (connection.ts): under two minutes at the
 * default 5 s, and 10,000 reads through indexes in one message.
 */
const STATEMENTS_PER_MESSAGE = 20;

/** Before 13 the server's statement_timeout covers the whole message: a few hundred milliseconds of it. */
const COST_PER_MESSAGE_BEFORE_13 = 2_000;

/** The column each statement's rows come back in (decodeRows). */
const ROWS_COLUMN = 'pg_preflight_rows';

export interface Message<A extends Arm = Arm> {
  sql: string;
  /** Statements that read relations, for the client's wait (QueryOptions.statements). */
  statements: number;
  /** The arms it holds, in order. */
  arms: readonly A[];
}

export interface MessageOptions {
  /** Locks one batch may hold before the savepoint is rolled back to. */
  lockBudget: number;
  /** The server's major version: before 13 a message is bounded by its cost, from 13 by its statements. */
  major: number;
  /** Everything in one message, however long (fix --apply reads under its locks in one round trip). */
  oneMessage?: boolean;
}

/** One statement: its arms in UNION ALLs of ARMS_PER_GROUP, each run by query_to_xml. */
function statementSql(arms: readonly Arm[]): string {
  const groups: string[] = [];
  for (let i = 0; i < arms.length; i += ARMS_PER_GROUP) {
    const union = arms.slice(i, i + ARMS_PER_GROUP).map((a) => a.sql).join('\nUNION ALL ');
    groups.push(`(${quoteLiteral(`SELECT row_to_json(a)::text AS j FROM (${union}) a`)})`);
  }
  return `SELECT query_to_xml(g.q, true, true, '')::text AS ${ROWS_COLUMN} FROM (VALUES ${groups.join(',\n')}) g(q)`;
}

/**
 * The arms as messages. Each message opens the savepoint, sends statements of up to
 * COST_PER_STATEMENT, rolls back to the savepoint whenever the locks taken reach the budget, and
 * holds at most STATEMENTS_PER_MESSAGE statements (before 13: COST_PER_MESSAGE_BEFORE_13).
 */
export function savepointMessages<A extends Arm>(arms: readonly A[], opts: MessageOptions): Message<A>[] {
  const messages: Message<A>[] = [];
  let out: string[] = [];
  let inMessage: A[] = [];
  let statement: A[] = [];
  let statements = 0;
  let held = 0;
  let statementCost = 0;
  let messageCost = 0;
  const messageFull = (nextCost: number) =>
    !opts.oneMessage && (opts.major >= 13 ? statements >= STATEMENTS_PER_MESSAGE : messageCost + nextCost > COST_PER_MESSAGE_BEFORE_13);
  const flushStatement = () => {
    if (statement.length === 0) return;
    out.push(statementSql(statement));
    inMessage.push(...statement);
    statements++;
    statement = [];
    statementCost = 0;
  };
  const flushMessage = () => {
    flushStatement();
    if (statements === 0) return;
    messages.push({ sql: [`SAVEPOINT ${SAVEPOINT}`, ...out, `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, `RELEASE SAVEPOINT ${SAVEPOINT}`].join(';\n'), statements, arms: inMessage });
    out = [];
    inMessage = [];
    statements = 0;
    held = 0;
    messageCost = 0;
  };
  for (const arm of arms) {
    const cost = armCost(arm);
    const overLocks = held > 0 && held + arm.weight > opts.lockBudget;
    if (statement.length > 0 && (overLocks || statementCost + cost > COST_PER_STATEMENT || (opts.major < 13 && messageFull(cost)))) flushStatement();
    if (statement.length === 0 && statements > 0) {
      // A new statement: in the next message when this one is full, else after a rollback to
      // the savepoint when its locks would pass the budget.
      if (messageFull(cost)) flushMessage();
      else if (overLocks) {
        out.push(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        held = 0;
      }
    }
    statement.push(arm);
    held += arm.weight;
    statementCost += cost;
    messageCost += cost;
  }
  flushMessage();
  return messages;
}

/** The arms in two parts of about equal cost, in order (either may be empty). */
export function halves<A extends Arm>(arms: readonly A[]): [A[], A[]] {
  const half = costOf(arms) / 2;
  let cut = 0;
  let sum = 0;
  while (cut < arms.length && sum + armCost(arms[cut]!) <= half) sum += armCost(arms[cut++]!);
  return [arms.slice(0, cut), arms.slice(cut)];
}

/**
 * Sends `messages` in turn on whichever session is free: `here` from the start, and `there` once
 * it resolves (a second session, logging in meanwhile); `take` gets each message's rows. What
 * `there` fails to read is read again `here`, except past a statement timeout, which would only
 * repeat: that is thrown once every message in flight is back.
 */
export async function readInTurn<M, R>(
  messages: readonly M[],
  here: (message: M) => Promise<R>,
  there: Promise<((message: M) => Promise<R>) | undefined> | undefined,
  take: (rows: R) => void,
): Promise<void> {
  let next = 0;
  const inFlight: Promise<void>[] = [];
  const redo: M[] = [];
  let timedOut: unknown;
  void there?.catch(() => undefined).then(async (read) => {
    while (read && next < messages.length && timedOut === undefined) {
      const message = messages[next++]!;
      const done = read(message).then(take, (err: unknown) => {
        if ((err as { code?: string }).code === '57014') timedOut = err;
        else redo.push(message);
        read = undefined;
      });
      inFlight.push(done);
      await done;
    }
  });
  while (next < messages.length) take(await here(messages[next++]!));
  await Promise.all(inFlight);
  if (timedOut !== undefined) throw timedOut;
  for (const message of redo) take(await here(message));
}

const XML_ENTITY: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&#x0d;': '\r' };
const ROW_TEXT = /<j>(.*?)<\/j>/gs;

/**
 * The arms' rows from the rows of a message savepointMessages made; rows of anything else sent
 * with it (fix --apply's own first row) pass as they are. query_to_xml escapes only &, <, > and
 * carriage returns in text, and row_to_json's text holds none of them raw but those.
 */
export function decodeRows<R extends Record<string, unknown>>(rows: readonly Record<string, unknown>[]): R[] {
  const out: R[] = [];
  for (const row of rows) {
    const xml = row[ROWS_COLUMN];
    if (typeof xml !== 'string') {
      out.push(row as R);
      continue;
    }
    for (const m of xml.matchAll(ROW_TEXT)) out.push(JSON.parse(m[1]!.replace(/&(?:amp|lt|gt|#x0d);/g, (e) => XML_ENTITY[e]!)) as R);
  }
  return out;
}

/** Sends one message savepointMessages made, waiting for it as for its statements; the arms' rows. */
export async function queryMessage<R extends Record<string, unknown>>(query: QueryFn, message: Message, purpose: string): Promise<R[]> {
  return decodeRows<R>(await query(message.sql, undefined, { statements: message.statements, purpose }));
}

function setting(facts: ServerFacts, name: string, fallback: number): number {
  const value = Number(facts.settings.get(name)?.setting);
  return Number.isFinite(value) ? value : fallback;
}

/**
 * The shared lock table's size as PostgreSQL computes it (max_locks_per_transaction × MaxBackends
 * plus prepared transactions), and a quarter of it as what one batch may hold: the application
 * keeps the rest.
 */
export function defaultLockBudget(facts: ServerFacts): number {
  const perTransaction = setting(facts, 'max_locks_per_transaction', 64);
  const backends =
    setting(facts, 'max_connections', 100) +
    setting(facts, 'autovacuum_max_workers', 3) +
    1 +
    setting(facts, 'max_worker_processes', 8) +
    // Wal senders count towards MaxBackends from PostgreSQL 12.
    (facts.major >= 12 ? setting(facts, 'max_wal_senders', 10) : 0) +
    setting(facts, 'max_prepared_transactions', 0);
  return Math.max(32, Math.floor((perTransaction * backends) / 4));
}
