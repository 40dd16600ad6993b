// What Synapse's prepare_database reads before it decides to start, upgrade or refuse, in one
// statement: the schema_version row, schema_compat_version, and for check_database_before_upgrade
// the users row it compares with server_name. Every table may be missing (a new database).
import { optionalTableJson, parseOptionalTable, type OptionalTable } from '../../src/optional-table.js';
import { quoteLiteral } from '../../src/quote.js';
import type { QueryFn } from '../../src/types.js';

export interface SchemaState {
  schemaVersion: OptionalTable<{ version: number; upgraded: boolean } | null>;
  /** schema_compat_version.compat_version; null: no row. */
  compat: OptionalTable<number | null>;
  /** Rows of background_updates, which the synapse-background-updates check lists. */
  pendingUpdates: OptionalTable<number>;
  /**
   * `first`: what `SELECT name FROM users LIMIT 1` returns (Synapse 1.20+ compares its domain);
   * `foreign`: a user NOT LIKE '%:' || server_name, which releases before 1.20 refused.
   */
  users: OptionalTable<{ first: string | null; foreign: string | null }>;
}

/** `foreignTo`: the server_name to find a user NOT LIKE '%:' || it for (releases before 1.20). */
export async function readSchemaState(query: QueryFn, foreignTo: string | undefined): Promise<SchemaState> {
  // The same statement Synapse runs, as a scalar subquery: the same plan, so the same first row.
  const foreign = foreignTo === undefined ? 'NULL' : `(SELECT name FROM users WHERE name NOT LIKE ${quoteLiteral(`%:${foreignTo}`)} LIMIT 1)`;
  const sql = `SELECT
    ${optionalTableJson('schema_version', "SELECT json_build_object('version', version, 'upgraded', upgraded) FROM schema_version LIMIT 1")} AS schema_version,
    ${optionalTableJson('schema_compat_version', 'SELECT to_json(compat_version) FROM schema_compat_version LIMIT 1')} AS compat,
    ${optionalTableJson('background_updates', 'SELECT to_json(count(*)) FROM background_updates')} AS pending,
    ${optionalTableJson('users', `SELECT json_build_object('first', (SELECT name FROM users LIMIT 1), 'foreign', ${foreign})`)} AS users`;
  const [row] = await query<{ schema_version: unknown; compat: unknown; pending: unknown; users: unknown }>(sql);
  return {
    schemaVersion: parseOptionalTable(row?.schema_version, null),
    compat: parseOptionalTable(row?.compat, null),
    pendingUpdates: parseOptionalTable(row?.pending, 0),
    users: parseOptionalTable(row?.users, { first: null, foreign: null }),
  };
}
