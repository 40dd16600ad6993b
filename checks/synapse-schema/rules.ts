// How a Synapse release decides, from schema_version and schema_compat_version, whether it may
// start (synapse/storage/prepare_database.py, as it was in each release of the table).
import {
  compareReleases,
  SERVER_NAME_FIRST_USER_SINCE,
  SYNAPSE_RELEASES,
  WORKER_BELOW_ONLY_SINCE,
  WORKER_SCHEMA_CHECK_SINCE,
  type SynapseRelease,
} from '../../src/synapse/releases.js';

export interface DbSchema {
  version: number;
  upgraded: boolean;
  /** schema_compat_version.compat_version; null without a row (Synapse then reads None). */
  compat: number | null;
}

/**
 * Whether a release's main process gets past the "too new" refusal. Since 1.37 it compares the
 * database's compat version with its SCHEMA_VERSION; before, the database's schema_version.
 */
export function canRun(row: SynapseRelease, db: DbSchema): boolean {
  if (row.compat === null) return db.version <= row.schema;
  return db.compat === null || db.compat <= row.schema;
}

/** The oldest release in the table whose main process starts on this database. */
export function oldestRunnable(db: DbSchema): SynapseRelease | undefined {
  return SYNAPSE_RELEASES.find((row) => canRun(row, db));
}

/** The compat version in the database after this release has started on it (it raises, never lowers). */
export function compatAfter(row: SynapseRelease, db: DbSchema): number | null {
  if (row.compat === null) return db.compat;
  return db.compat === null || db.compat < row.compat ? row.compat : db.compat;
}

/** The schema_version a worker of this release refuses (null: it checks nothing), per its era. */
export function workerRefuses(release: string, row: SynapseRelease, db: DbSchema | undefined): 'empty' | 'schema' | null {
  if (compareReleases(release, WORKER_SCHEMA_CHECK_SINCE) < 0) return null;
  if (!db) return 'empty';
  const refuses = compareReleases(release, WORKER_BELOW_ONLY_SINCE) < 0 ? db.version !== row.schema : db.version < row.schema;
  return refuses ? 'schema' : null;
}

/** What check_database_before_upgrade compares: the domain after the first ":" of a user id (get_domain_from_id). */
export function domainOf(userId: string): string | undefined {
  const i = userId.indexOf(':');
  return i < 0 ? undefined : userId.slice(i + 1);
}

export interface ServerNameVerdict {
  /** The user whose domain Synapse finds foreign (or whose id has no ":"). */
  user: string;
  domain: string | undefined;
}

/**
 * Since 1.20 Synapse looks at one row, `SELECT name FROM users LIMIT 1`, and compares its domain
 * exactly; before, it refused when any name was NOT LIKE '%:' || server_name.
 */
export function serverNameRefusal(release: string, serverName: string, users: { first: string | null; foreign: string | null }): ServerNameVerdict | undefined {
  if (compareReleases(release, SERVER_NAME_FIRST_USER_SINCE) < 0) {
    return users.foreign === null ? undefined : { user: users.foreign, domain: domainOf(users.foreign) };
  }
  if (users.first === null) return undefined;
  const domain = domainOf(users.first);
  return domain === serverName ? undefined : { user: users.first, domain };
}
