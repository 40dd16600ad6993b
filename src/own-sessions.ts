// A run's own sessions, as pg_stat_activity shows them. A check that counts or lists the other
// sessions (connections in use, old snapshots, long transactions) leaves these out: they are
// gone before the application starts. The first session is pg_backend_pid(); the second
// (beside-session.ts) is named after it when it logs in, before any check has run a query.
import { quoteLiteral } from './quote.js';

/** How a run's first session names itself. */
export const APPLICATION_NAME = 'pg-preflight';

/** What the name of every other session of the run starts with; its first session's pid follows. */
const BESIDE_PREFIX = `${APPLICATION_NAME} beside `;

/** The application_name of the second session of the run whose first session is `firstPid`. */
export function besideApplicationName(firstPid: number): string {
  return `${BESIDE_PREFIX}${firstPid}`;
}

/**
 * SQL, true for a pg_stat_activity row (of `alias`, when given) that is not one of this run's
 * sessions, when run on its first session. Other roles' sessions show application_name too.
 */
export function notOwnSession(alias?: string): string {
  const a = alias ? `${alias}.` : '';
  return `(${a}pid <> pg_backend_pid() AND ${a}application_name IS DISTINCT FROM (${quoteLiteral(BESIDE_PREFIX)} || pg_backend_pid()))`;
}
