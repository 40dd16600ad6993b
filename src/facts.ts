import type { Session } from './connection.js';
import { PreflightError } from './errors.js';
import type { ServerFacts, Setting } from './types.js';

// Everything the built-in checks need about the server, read in the round trip that opens the
// read-only transaction. row_to_json(pg_database) keeps one query across majors whose
// pg_database columns differ (datlocprovider from 15, datlocale from 17).
const FACTS_SQL = `
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_setting('server_encoding') AS encoding,
       current_database() AS database,
       current_user AS "user",
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS is_superuser,
       (SELECT row_to_json(d) FROM pg_database d WHERE d.datname = current_database()) AS database_row,
       (SELECT pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = current_database()) AS owner,
       (SELECT json_agg(json_build_array(name, setting, unit, context, source, boot_val, sourcefile, sourceline)) FROM pg_settings) AS settings,
       EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass('schema_version') AND attname = 'upgraded' AND NOT attisdropped) AS synapse,
       -- Synapse keeps a single row, found unqualified through search_path as Synapse finds it.
       -- query_to_xml plans the read only when the table is there (a plain subquery would not
       -- even parse without it), so it rides in this round trip instead of one of its own.
       CASE WHEN has_table_privilege(to_regclass('schema_version'), 'SELECT')
            THEN substring(query_to_xml('SELECT version FROM schema_version LIMIT 1', false, true, '')::text FROM '<version>(-?[0-9]+)</version>')
       END AS synapse_schema_version`;

/**
 * The snapshot a second session then reads too (beside-session.ts). A role may be denied the
 * function (a hosted server); that leaves the run on one session.
 */
const EXPORT_SQL = `,
       CASE WHEN has_function_privilege('pg_catalog.pg_export_snapshot()', 'EXECUTE') THEN pg_catalog.pg_export_snapshot() END AS snapshot`;


interface FactsRow extends Record<string, unknown> {
  version_num: number;
  version: string;
  encoding: string;
  database: string;
  user: string;
  is_superuser: boolean;
  database_row: Record<string, unknown>;
  owner: string;
  settings: [string, string, string | null, string, string, string | null, string | null, number | null][];
  synapse: boolean;
  synapse_schema_version: string | null;
  snapshot?: string | null;
}

/** The facts, and with `exportSnapshot` the id of the transaction's snapshot (null where it cannot be had). */
export interface FactsRead {
  facts: ServerFacts;
  snapshot: string | null;
}

export async function gatherFacts(session: Session): Promise<ServerFacts> {
  return (await readFacts(session, { exportSnapshot: false })).facts;
}

export async function readFacts(session: Session, opts: { exportSnapshot: boolean }): Promise<FactsRead> {
  let row: FactsRow | undefined;
  if (opts.exportSnapshot) {
    try {
      [row] = await session.beginReadOnly<FactsRow>(FACTS_SQL + EXPORT_SQL);
    } catch (err) {
      // The export failed where the privilege allowed it (it writes a file under the data
      // directory): the facts once more, in a new transaction, without it. A lost connection is
      // the run's end, not this.
      if (err instanceof PreflightError) throw err;
      await session.query('ROLLBACK');
    }
  }
  row ??= (await session.beginReadOnly<FactsRow>(FACTS_SQL))[0];
  return { facts: factsOf(row), snapshot: row?.snapshot ?? null };
}

function factsOf(row: FactsRow | undefined): ServerFacts {
  if (!row) throw new Error('the server returned no row for the facts query');
  const settings = new Map<string, Setting>();
  for (const [name, setting, unit, context, source, bootVal, sourceFile, sourceLine] of row.settings) {
    settings.set(name, { name, setting, unit, context, source, bootVal, sourceFile, sourceLine });
  }
  const synapseSchemaVersion = row.synapse && row.synapse_schema_version !== null ? Number(row.synapse_schema_version) : undefined;
  return {
    versionNum: row.version_num,
    major: Math.floor(row.version_num / 10000),
    version: row.version,
    encoding: row.encoding,
    database: row.database,
    user: row.user,
    owner: row.owner,
    isSuperuser: row.is_superuser,
    databaseRow: row.database_row,
    settings,
    synapseSchemaVersion,
    isSynapse: row.synapse,
  };
}
