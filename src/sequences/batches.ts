// Reading thousands of relations in one transaction runs into PostgreSQL's shared lock table:
// every sequence, table and index read takes a lock that is normally held to the end of the
// transaction, and the table is sized max_locks_per_transaction × (connections + workers) for
// the whole server. Measured: one statement over 10,000 serial tables fails with "out of shared
// memory" on a server with default settings, and would starve the application's own sessions on
// the way there. Locks taken after a savepoint are released when the savepoint is rolled back to
// (PostgreSQL docs, "Explicit Locking"), and a rollback to savepoint keeps the REPEATABLE READ
// snapshot. So the reads go out as one multi-statement message: statements of up to
// `perStatement` UNION ALL arms, a ROLLBACK TO SAVEPOINT whenever the locks taken reach the
// budget. One round trip, however many batches.
import type { ServerFacts } from '../types.js';

export interface Arm {
  /** One SELECT producing one row; every arm of a call has the same columns. */
  sql: string;
  /** Locks it takes: the sequence, each table read and each of that table's indexes. */
  weight: number;
}

const SAVEPOINT = 'pg_preflight_sequences';

/** UNION ALL grows the parser's recursion with every arm; a few hundred stay far from max_stack_depth. */
const ARMS_PER_STATEMENT = 100;

/**
 * Settings for the reads, given with SET LOCAL right after the savepoint; a rollback to the
 * savepoint undoes them (as it undoes any setting changed after it), so they are given again
 * after each one, and nothing leaks into the checks that run next in the same transaction.
 */
export type ReadSettings = Record<string, string>;

export function savepointBatches(arms: readonly Arm[], lockBudget: number, settings: ReadSettings = {}, perStatement = ARMS_PER_STATEMENT): string {
  const set = Object.entries(settings).map(([name, value]) => `SET LOCAL ${name} = ${value}`);
  const out = [`SAVEPOINT ${SAVEPOINT}`, ...set];
  let statement: string[] = [];
  let held = 0;
  const flush = () => {
    if (statement.length > 0) out.push(statement.join('\nUNION ALL '));
    statement = [];
  };
  for (const arm of arms) {
    if (held > 0 && held + arm.weight > lockBudget) {
      flush();
      out.push(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, ...set);
      held = 0;
    }
    statement.push(arm.sql);
    held += arm.weight;
    if (statement.length >= perStatement) flush();
  }
  flush();
  out.push(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`, `RELEASE SAVEPOINT ${SAVEPOINT}`);
  return out.join(';\n');
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
