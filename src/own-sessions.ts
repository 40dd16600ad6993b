// A run's own sessions, as pg_stat_activity shows them. A check that counts or lists the other
// sessions (connections in use, old snapshots, long transactions) leaves these out: they are
// gone before the application starts. The first session is pg_backend_pid(); the second
// (beside-session.ts) is named after it when it logs in, before any check has run a query.

/** The application_name of the second session of the run whose first session is `firstPid`. */
export function besideApplicationName(firstPid: number): string {
  return `pg-preflight beside ${firstPid}`;
}

/**
 * SQL, true for a pg_stat_activity row (of `alias`, when given) that is not one of this run's
 * sessions, when run on its first session. Other roles' sessions show application_name too.
 */
export function notOwnSession(alias?: string): string {
  const a = alias ? `${alias}.` : '';
  return `(${a}pid <> pg_backend_pid() AND ${a}application_name IS DISTINCT FROM ('pg-preflight beside ' || pg_backend_pid()))`;
}
