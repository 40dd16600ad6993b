/** libpq connection keywords after every source (URI, config, environment, defaults) is applied. */
export interface ConnectionParams {
  /** Host name, IP address, or a directory holding the Unix socket (starts with "/"). */
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** Where the password came from, for messages: never the password itself. */
  passwordSource?: 'uri' | 'config' | 'PGPASSWORD' | 'pgpass';
  sslmode: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** libpq `options`, e.g. `-c search_path=synapse`: it changes what the application sees. */
  options?: string;
  /** libpq `target_session_attrs` (`any`, `read-write`, `standby` ...): which kind of server the client asked for. */
  targetSessionAttrs?: string;
  /** Every keyword as given, for checks that look at them (keepalives_*, connect_timeout). */
  keywords: Record<string, string>;
}

/** Synapse's view of one configured database (`database:` or an entry of `databases:`). */
export interface SynapseDatabaseConfig {
  /** The raw section as parsed from YAML. */
  section: Record<string, unknown>;
  args: Record<string, unknown>;
  allowUnsafeLocale: boolean;
  cpMin?: number;
  cpMax?: number;
  cpReconnect?: boolean;
  dataStores: string[];
  /** The config file(s) the section came from, last one wins. */
  files: string[];
}

export interface DatabaseTarget {
  /** `master` for a single `database:` section (Synapse's own label), else the `databases:` key. */
  label: string;
  connection: ConnectionParams;
  /** Present when the target came from a homeserver.yaml. */
  synapse?: SynapseDatabaseConfig;
  /** Where the connection settings came from, for the report header. */
  source: 'dsn' | 'config' | 'environment';
}

/** The connection without secrets, as reports show it. */
export function describeTarget(target: DatabaseTarget): { host: string; port: number; database: string; user: string } {
  const { host, port, database, user } = target.connection;
  return { host, port, database, user };
}
