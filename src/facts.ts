import type { Session } from './connection.js';
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
       (SELECT json_agg(json_build_array(name, setting, unit, context, source, boot_val)) FROM pg_settings) AS settings,
       EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass('schema_version') AND attname = 'upgraded' AND NOT attisdropped) AS synapse,
       -- Synapse keeps a single row, found unqualified through search_path as Synapse finds it.
       -- query_to_xml plans the read only when the table is there (a plain subquery would not
       -- even parse without it), so it rides in this round trip instead of one of its own.
       CASE WHEN has_table_privilege(to_regclass('schema_version'), 'SELECT')
            THEN substring(query_to_xml('SELECT version FROM schema_version LIMIT 1', false, true, '')::text FROM '<version>(-?[0-9]+)</version>')
       END AS synapse_schema_version
`;

interface FactsRow extends Record<string, unknown> {
  version_num: number;
  version: string;
  encoding: string;
  database: string;
  user: string;
  is_superuser: boolean;
  database_row: Record<string, unknown>;
  owner: string;
  settings: [string, string, string | null, string, string, string | null][];
  synapse: boolean;
  synapse_schema_version: string | null;
}

export async function gatherFacts(session: Session): Promise<ServerFacts> {
  const [row] = await session.beginReadOnly<FactsRow>(FACTS_SQL);
  if (!row) throw new Error('the server returned no row for the facts query');
  const settings = new Map<string, Setting>();
  for (const [name, setting, unit, context, source, bootVal] of row.settings) {
    settings.set(name, { name, setting, unit, context, source, bootVal });
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
