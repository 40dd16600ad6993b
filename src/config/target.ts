/** One entry of libpq's host list. */
export interface HostSlot {
  host: string;
  port: number;
  hostaddr?: string;
  /**
   * From the password file for this host, when no password is given and it is not the first
   * host (whose password is `ConnectionParams.password`): libpq looks it up per host.
   */
  password?: string;
}

/** libpq connection keywords after every source (URI, config, environment, defaults) is applied. */
export interface ConnectionParams {
  /** Host name, IP address, or a directory holding the Unix socket (starts with "/"): the first of `hosts`. */
  host: string;
  port: number;
  /**
   * Every host libpq would try, in order, from comma-separated host/hostaddr/port lists (one
   * port applies to all). Always set by resolveConnection; src/multi-host.ts tries them in turn.
   */
  hosts?: HostSlot[];
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
  /** libpq `load_balance_hosts` (`disable`, `random`: try the hosts in a shuffled order). */
  loadBalanceHosts?: string;
  /** Every keyword as given, for checks that look at them (keepalives_*, connect_timeout). */
  keywords: Record<string, string>;
}

/** Synapse's view of one configured database (`database:` or an entry of `databases:`). */
export interface SynapseDatabaseConfig {
  /** The raw section as parsed from YAML. */
  section: Record<string, unknown>;
  args: Record<string, unknown>;
  /** What Synapse's `if allow_unsafe_locale:` makes of the value (Python truthiness). */
  allowUnsafeLocale: boolean;
  /** cp_min / cp_max as written (absent: undefined); `pool` has what Twisted makes of them. */
  cpMin?: number;
  cpMax?: number;
  /** The pool Twisted builds: min(cp_min, cp_max) and cp_max, with its defaults 3 and 5. */
  pool?: { min: number; max: number };
  /** Python truthiness of cp_reconnect; undefined when absent (Synapse then sets true). */
  cpReconnect?: boolean;
  /** What a value means to Synapse where that is surprising (a quoted "no" is true), for reports. */
  notes?: string[];
  dataStores: string[];
  /** The top-level server_name of the same config, when it is a string. */
  serverName?: string;
  /** The config file(s) the section came from, last one wins. */
  files: string[];
}

export interface DatabaseTarget {
  /** `master` for a single `database:` section (Synapse's own label), else the `databases:` key. */
  label: string;
  /**
   * The target's name in reports when one run checks several homeservers or servers
   * (`hs/a.yaml:master`, `db1:5432/synapse`): unique in the run. Absent: the label is the name.
   */
  name?: string;
  connection: ConnectionParams;
  /** Present when the target came from a homeserver.yaml. */
  synapse?: SynapseDatabaseConfig;
  /** Where the connection settings came from, for the report header. */
  source: 'dsn' | 'config' | 'environment';
}

/** What reports call the target: unique in a run, stable from run to run (README "Many databases"). */
export function targetName(target: Pick<DatabaseTarget, 'label' | 'name'>): string {
  return target.name ?? target.label;
}

/** A host and port as reports name them. */
export interface HostEndpoint {
  host: string;
  port: number;
}

/** The hosts of a target given several (host=a,b), in the order given; empty for a single host. */
export function givenHosts(target: DatabaseTarget): HostEndpoint[] {
  return (target.connection.hosts ?? []).map((h) => ({ host: h.hostaddr ?? h.host, port: h.port }));
}

/** "db:5432", or "socket /run/postgresql". */
export function hostText(h: HostEndpoint): string {
  return h.host.startsWith('/') ? `socket ${h.host}` : `${h.host}:${h.port}`;
}

/**
 * Where a report says a target was checked: the host taken of several, all of them when none was
 * taken (the error then names each), else its one host.
 */
export function checkedAtText(target: DatabaseTarget, connectedTo?: HostEndpoint): string {
  const hosts = givenHosts(target);
  if (!connectedTo && hosts.length > 1) return hosts.map(hostText).join(', ');
  return hostText(connectedTo ?? target.connection);
}

/** With several hosts: "<the one taken> of <all of them>: <why>". */
export function hostChoiceText(target: DatabaseTarget, connectedTo: HostEndpoint & { why: string }): string {
  return `${hostText(connectedTo)} of ${givenHosts(target).map(hostText).join(', ')}: ${connectedTo.why}`;
}

/** The connection without secrets, as reports show it. */
export function describeTarget(target: DatabaseTarget): { host: string; port: number; database: string; user: string } {
  const { host, port, database, user } = target.connection;
  return { host, port, database, user };
}
