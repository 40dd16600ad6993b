// Reading thousands of relations in one transaction runs into PostgreSQL's shared lock table:
// every sequence, table and index read takes a lock that is normally held to the end of the
// transaction, and the table is sized max_locks_per_transaction × (connections + workers) for
// the whole server. Measured: one statement over 10,000 serial tables fails with "out of shared
// memory" on a server with default settings, and would starve the application's own sessions on
// the way there. Locks taken after a savepoint are released when the savepoint is rolled back to
// (PostgreSQL docs, "Explicit Locking"), and a rollback to savepoint keeps the REPEATABLE READ
// snapshot. So the reads go out as one multi-statement message: statements of up to
// `perStatement` UNION ALL arms, a ROLLBACK TO SAVEPOINT whenever the locks taken reach the
// budget. A few round trips, however many batches: see savepointMessages.
import type { ServerFacts } from '../types.js';

export interface Arm {
  /** One SELECT producing one row; every arm of a call has the same columns. */
  sql: string;
  /** Locks it takes: the sequence, each table read and each of that table's indexes. */
  weight: number;
}

export const SAVEPOINT = 'pg_preflight_sequences';

/**
 * A statement's cost grows faster than its arms: on Debian's 15, 1,429 reads took 231 ms of the
 * server in statements of 100 arms, 160 ms in statements of 25 and 157 ms of 10 (one arm each:
 * 186 ms, the statements' own overhead). At a few thousand arms one statement runs out of memory.
 */
const ARMS_PER_STATEMENT = 25;

/**
 * Statements one message may hold: 2,000 arms, a few hundred milliseconds of work, before 13 all
 * of it under one statement_timeout (the server's timeout then covers the whole message). From
 * 13 each statement may take up to statement_timeout and the client waits for the sum
 * (connection.ts): at the default 5 s, a server that stops answering mid-message is given up
 * after at most 405 s. 10,000 sequences with rows go in five round trips.
 */
const STATEMENTS_PER_MESSAGE = 80;

export interface Message<A extends Arm = Arm> {
  sql: string;
  /** Statements that read relations, for the client's wait (QueryOptions.statements). */
  statements: number;
  /** The arms it holds, in order. */
  arms: readonly A[];
}

/**
 * The arms as messages. Each message opens the savepoint, sends statements of up to
 * `perStatement` UNION ALL arms, rolls back to the savepoint whenever the locks taken reach the
 * budget, and holds at most `perMessage` reading statements.
 */
export function savepointMessages<A extends Arm>(arms: readonly A[], lockBudget: number, perStatement = ARMS_PER_STATEMENT, perMessage = STATEMENTS_PER_MESSAGE): Message<A>[] {
  const messages: Message<A>[] = [];
  let out: string[] = [];
  let inMessage: A[] = [];
  let statement: A[] = [];
  let statements = 0;
  let held = 0;
  const flushStatement = () => {
    if (statement.length === 0) return;
    out.push(statement.map((a) => a.sql).join('\nUNION ALL '));
    inMessage.push(...statement);
    statements++;
    statement = [];
  };
  const flushMessage = () => {
    flushStatement();
    if (statements === 0) return;
    messages.push({ sql: [`SAVEPOINT ${SAVEPOINT}`, ...out, `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, `RELEASE SAVEPOINT ${SAVEPOINT}`].join(';\n'), statements, arms: inMessage });
    out = [];
    inMessage = [];
    statements = 0;
    held = 0;
  };
  for (const arm of arms) {
    if (held > 0 && held + arm.weight > lockBudget) {
      flushStatement();
      if (statements >= perMessage) flushMessage();
      else {
        out.push(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        held = 0;
      }
    }
    statement.push(arm);
    held += arm.weight;
    if (statement.length >= perStatement) {
      flushStatement();
      if (statements >= perMessage) flushMessage();
    }
  }
  flushMessage();
  return messages;
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
