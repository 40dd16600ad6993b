// Who holds the lock a read is waiting for. Reading a table takes ACCESS SHARE, which only ACCESS
// EXCLUSIVE conflicts with (DROP, TRUNCATE, most ALTER TABLE, VACUUM FULL, CLUSTER, REINDEX of an
// index, a bare LOCK TABLE); a request waiting for ACCESS EXCLUSIVE queues every later reader
// behind it too, so waiters are named as well as holders.
import { quoteQualified } from './quote.js';
import type { QueryFn } from './types.js';

export interface LockHolder {
  /** The locked relation, quoted and qualified. */
  relation: string;
  relationOid: number;
  /** The table it belongs to: an index's table, else the relation itself. */
  tableOid: number;
  /** Whether it holds the lock (true) or waits for it and so queues readers behind it. */
  granted: boolean;
  /** Absent for a prepared transaction, which holds locks without a session. */
  pid?: number;
  user?: string;
  application?: string;
  state?: string;
  /** How long its transaction has been open, in seconds. */
  transactionSeconds?: number;
  /** The first line of its current or last query, when the role may see it. */
  query?: string;
}

interface HolderRow extends Record<string, unknown> {
  oid: string;
  table_oid: string;
  nspname: string;
  relname: string;
  granted: boolean;
  pid: number | null;
  usename: string | null;
  application_name: string | null;
  state: string | null;
  seconds: number | null;
  query: string | null;
}

/**
 * ACCESS EXCLUSIVE locks others hold or wait for in this database, on `relations` (oids) or on
 * any relation. pg_locks is live; pg_stat_activity is cached for the transaction on first use,
 * so the cache is cleared first to see sessions that started since.
 */
export async function accessExclusiveHolders(query: QueryFn, relations?: readonly number[]): Promise<LockHolder[]> {
  const only = relations ? `AND l.relation = ANY ('{${relations.map((o) => Math.trunc(o)).join(',')}}'::oid[])` : '';
  const rows = await query<HolderRow>(
    `SELECT pg_stat_clear_snapshot();
SELECT c.oid::bigint::text AS oid, coalesce(ix.indrelid, c.oid)::bigint::text AS table_oid, n.nspname, c.relname, l.granted, a.pid, a.usename, a.application_name, a.state,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS seconds,
       split_part(a.query, E'\\n', 1) AS query
  FROM pg_locks l
  JOIN pg_class c ON c.oid = l.relation
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.pid IS DISTINCT FROM pg_backend_pid() ${only}
 ORDER BY l.granted DESC, n.nspname, c.relname, a.pid`,
    undefined,
    { purpose: 'who holds the locks' },
  );
  return rows
    .filter((r) => 'relname' in r)
    .map((r) => ({
      relation: quoteQualified(r.nspname, r.relname),
      relationOid: Number(r.oid),
      tableOid: Number(r.table_oid),
      granted: r.granted,
      ...(r.pid !== null ? { pid: r.pid } : {}),
      ...(r.usename ? { user: r.usename } : {}),
      ...(r.application_name ? { application: r.application_name } : {}),
      ...(r.state ? { state: r.state } : {}),
      ...(r.seconds !== null ? { transactionSeconds: Math.round(r.seconds) } : {}),
      ...(r.query && r.query !== '<insufficient privilege>' ? { query: r.query.slice(0, 200) } : {}),
    }));
}

/** "pid 4242 (user synapse, application psql, idle in transaction for 42 s: LOCK TABLE events)". */
export function describeHolder(h: LockHolder): string {
  if (h.pid === undefined) return 'a prepared transaction (see pg_prepared_xacts)';
  const parts = [h.user && `user ${h.user}`, h.application && `application ${h.application}`].filter(Boolean);
  const state = h.state ? `${h.state}${h.transactionSeconds !== undefined ? ` for ${h.transactionSeconds} s` : ''}` : '';
  const rest = [parts.join(', '), state].filter(Boolean).join(', ');
  return `pid ${h.pid}${rest ? ` (${rest}${h.query ? `: ${h.query}` : ''})` : ''}${h.granted ? '' : ', waiting for ACCESS EXCLUSIVE'}`;
}

/** One line for the holders of one relation. */
export function describeLock(relation: string, holders: readonly LockHolder[]): string {
  return `${relation} is locked ACCESS EXCLUSIVE by ${holders.map(describeHolder).join('; ')}`;
}
