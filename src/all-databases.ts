// --all-databases: one target per database of a server that the role may connect to. The list
// comes from one read-only session on the database the connection names; every database found
// is then checked with the same connection parameters, the database name swapped.
import { connectionName } from './config/fleet.js';
import type { DatabaseTarget } from './config/target.js';
import { openSession, type SessionLimits } from './connection.js';
import { EXIT, PreflightError, usageError } from './errors.js';

const LIST_FAILED = 'all-databases-list';
import { openSessionWaiting, type WaitOptions } from './wait.js';

/**
 * Templates are left out (template0 refuses logins, template1 is a pattern, not a database in
 * use), and so are databases the server would refuse this role: datallowconn false, or no
 * CONNECT privilege (REVOKE CONNECT ... FROM PUBLIC is how operators fence one off).
 */
export const CONNECTABLE_DATABASES_SQL = `SELECT datname FROM pg_catalog.pg_database
WHERE datallowconn AND NOT datistemplate AND pg_catalog.has_database_privilege(oid, 'CONNECT')
ORDER BY datname::text COLLATE "C"`;

export async function listConnectableDatabases(target: DatabaseTarget, limits: SessionLimits, wait?: WaitOptions): Promise<string[]> {
  const session = wait ? await openSessionWaiting(target, limits, wait) : await openSession(target, limits);
  try {
    const rows = await session.beginReadOnly<{ datname: string }>(CONNECTABLE_DATABASES_SQL);
    return rows.map((r) => r.datname);
  } catch (err) {
    if (err instanceof PreflightError) throw err;
    // Logged in, but the list itself failed (a statement timeout, say): a clear line, not a bug.
    throw new PreflightError(`could not list the databases of ${connectionName(target)}: ${err instanceof Error ? err.message : String(err)}`, EXIT.connection, LIST_FAILED, [
      { kind: 'text', text: 'Run again, with a larger --statement-timeout if the server is busy; or name the databases with --dsn instead of --all-databases.' },
    ]);
  } finally {
    await session.close();
  }
}

/** The target with another database: label and name from the database, the rest as it was. */
export function targetForDatabase(target: DatabaseTarget, datname: string): DatabaseTarget {
  const connection = { ...target.connection, database: datname, keywords: { ...target.connection.keywords, dbname: datname } };
  return { ...target, label: datname, connection, name: connectionName({ connection }) };
}

/**
 * Each target becomes one per database of its server. A server that cannot be listed stays as
 * the one target it was (named for its server), so the run reports it unreachable with exit 3
 * while the other servers are checked.
 */
export async function expandAllDatabases(targets: DatabaseTarget[], limits: SessionLimits, wait?: WaitOptions): Promise<DatabaseTarget[]> {
  const expanded: DatabaseTarget[] = [];
  for (const target of targets) {
    if (target.synapse) throw usageError('usage', '--all-databases lists the databases of a server that --dsn or PG* variables name, not of a homeserver');
    try {
      for (const datname of await listConnectableDatabases(target, limits, wait)) expanded.push(targetForDatabase(target, datname));
    } catch (err) {
      // A server that cannot be reached is one unreachable target; one that answered but could not
      // list its databases is a failure of the whole run (its databases are unknown).
      if (!(err instanceof PreflightError) || err.code === LIST_FAILED) throw err;
      expanded.push({ ...target, name: connectionName(target) });
    }
  }
  return expanded;
}
