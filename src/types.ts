import type { DatabaseTarget } from './config/target.js';
import type { Fix, FixKind } from './fix-types.js';
import type { HostMemory } from './host-memory.js';
import type { SqliteSnapshotSource } from './sqlite/snapshot.js';

/** Ordered from harmless to worst; `failed` means the check itself could not run to the end. */
export const STATUSES = ['ok', 'skipped', 'info', 'warning', 'error', 'failed'] as const;
export type Status = (typeof STATUSES)[number];

export type RemediationKind = 'sql' | 'shell' | 'config' | 'text';

export interface Remediation {
  kind: RemediationKind;
  /** Exactly what the user pastes (SQL, shell, YAML) or reads (text). */
  text: string;
  /** One line saying what this step does or when to use it. */
  title?: string;
}

export interface Finding {
  status: Status;
  message: string;
  /** The database object the finding is about, e.g. `public.events_stream_seq`. */
  object?: string;
  details?: Record<string, unknown>;
  remediation?: Remediation[];
  /** What `pg-preflight fix` can apply for this finding (src/fix-types.ts). */
  fix?: Fix;
  /** Set when a rules-file waiver accepts this finding: shown, but not counted for the exit code. */
  waived?: Waiver;
}

export interface Waiver {
  reason: string;
  /** ISO date (YYYY-MM-DD) after which the waiver stops applying. */
  expires?: string;
}

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
}

export interface QueryOptions {
  /**
   * How many statements the text holds that may each take up to statement_timeout (a
   * multi-statement message); the client waits for all of them. Default 1.
   */
  statements?: number;
  /** What the statement reads, for the failed result when it hits a timeout ("the tables' maxima"). */
  purpose?: string;
}

export interface QueryFn {
  <R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<R[]>;
}

/** Run-wide options, the same for every check. */
export interface CheckOptions {
  /** Synapse release given with --synapse-version, e.g. "1.120.0". */
  synapseVersion?: string;
  /** Read every table maximum, even without an index. */
  thorough?: boolean;
  /** "Today", for end-of-life and age comparisons; tests pin it. */
  now?: Date;
  /**
   * This machine's memory (/proc/meminfo), read by the CLI. Checks use it only for a server reached
   * over a Unix socket or loopback (memory-settings, huge-pages); a check never reads it itself.
   */
  localHostMemory?: HostMemory;
  /** --sqlite-database: the SQLite file synapse_port_db read, counted on demand (sqlite-port). */
  sqliteDatabase?: SqliteSnapshotSource;
  /**
   * The Synapse processes that will connect, main first, each with the pools it opens (from
   * --config, --worker-config and --workers). Absent: the main process alone, as the target shows it.
   */
  synapseProcesses?: SynapseProcess[];
  [key: string]: unknown;
}

/** One Synapse process (the main one, or a worker) and the connection pools it opens. */
export interface SynapseProcess {
  /** `main`, the worker_name of a worker file, or `worker 2` for --workers. */
  name: string;
  /** The worker file, for a worker given with --worker-config. */
  file?: string;
  /** worker_app of a --worker-config file (synapse.app.homeserver, the main process, counts as unset). */
  workerApp?: string;
  pools: SynapsePool[];
}

export interface SynapsePool {
  /** The database label (`master`, or a databases: key). */
  label: string;
  /** `host:port` the pool connects to, as Synapse's config says (hostaddr wins over host). */
  server: string;
  cpMin?: number;
  cpMax?: number;
  /** The section came from the worker's own file, which replaced the shared one. */
  ownSection?: boolean;
}

/**
 * A setting a check declares (a threshold, a switch). Users set it with `--set id.name=value`
 * (and later a rules file); the check reads the resolved value from `ctx.params`.
 */
export interface ParamSpec {
  /** bytes accepts "16GiB", "512MB", "8kB" (1 kB = 1024 bytes, as PostgreSQL counts); duration accepts "500ms", "30s", "5min", "2h", "1d" and yields seconds. */
  type: 'number' | 'integer' | 'string' | 'boolean' | 'bytes' | 'duration';
  default: number | string | boolean | null;
  description: string;
}

export type ParamValues = Record<string, number | string | boolean | null>;

export interface CheckContext {
  facts: ServerFacts;
  target: DatabaseTarget;
  /** Runs inside the read-only transaction with the session's timeouts. */
  query: QueryFn;
  options: CheckOptions;
  /** This check's declared params, defaults overridden by what the user set. */
  params: ParamValues;
}

export interface Check {
  /** Stable kebab-case id used by --only, --skip, explain and reports. */
  id: string;
  title: string;
  description: string;
  /** What `explain <id>` prints: what is checked, why, and how to fix it. */
  docs: string;
  /** Labels for listings and docs ("synapse", "sequences"). The runner ignores them: a check that
   * applies only to Synapse databases says `skipped` itself, as sqlite-port does. */
  tags?: string[];
  /** Settings the user may change, by name (kebab-case or snake_case, as the check chooses). */
  params?: Record<string, ParamSpec>;
  /** Kinds of fix its findings may carry: `pg-preflight fix` runs every check that declares one. */
  fixes?: readonly FixKind[];
  run(ctx: CheckContext): Promise<Finding | Finding[]>;
}

export interface CheckResult {
  id: string;
  title: string;
  /** The label of the configured database (`master`, or a `databases:` key). */
  database: string;
  status: Status;
  message: string;
  details?: Record<string, unknown>;
  remediation: Remediation[];
  /** Every finding the check returned; `status` is the worst of them. */
  findings: Finding[];
  durationMs: number;
}

export function worstStatus(statuses: Iterable<Status>): Status {
  let worst: Status = 'ok';
  for (const s of statuses) if (STATUSES.indexOf(s) > STATUSES.indexOf(worst)) worst = s;
  return worst;
}

export function statusAtLeast(status: Status, threshold: Status): boolean {
  return STATUSES.indexOf(status) >= STATUSES.indexOf(threshold);
}
