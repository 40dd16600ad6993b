/** Server facts gathered once per connection, before any check runs. */
export interface ServerFacts {
  versionNum: number;
  major: number;
  version: string;
  encoding: string;
  database: string;
  user: string;
  /** Owner of the current database. */
  owner: string;
  isSuperuser: boolean;
  /** The whole pg_database row of the current database (columns differ by major version). */
  databaseRow: Record<string, unknown>;
  /** pg_settings rows by name. */
  settings: Map<string, Setting>;
  /** schema_version.version of a Synapse database, when that table is visible. */
  synapseSchemaVersion?: number;
  /** Whether the database looks like a Synapse one (schema_version table present). */
  isSynapse: boolean;
}

export interface Setting {
  name: string;
  setting: string;
  unit: string | null;
  context: string;
  source: string;
  bootVal: string | null;
  /** The configuration file and line that set it (pg_settings.sourcefile, sourceline): null unless the role may see them, or not set by a file. */
  sourceFile?: string | null;
  sourceLine?: number | null;
}
