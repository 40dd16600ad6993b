import type { CheckTarget } from '../target-view.js';
import type { HostMemory } from '../host-memory.js';
import type { SqliteSnapshotSource } from '../sqlite/snapshot.js';
import type { ServerFacts } from './facts.js';
import type { CodeSpec, Finding, ReportedFinding, Remediation } from './finding.js';
import type { Status } from './status.js';
import type { FixKind } from '../fix-types.js';

export interface QueryOptions {
  /**
   * How many statements the text holds that may each take up to statement_timeout (a
   * multi-statement message); the client waits for all of them. Default 1.
   */
  statements?: number;
  /** What the statement reads, for the failed result when it hits a timeout ("the tables' maxima"). */
  purpose?: string;
  /**
   * A pure read: when two checks send the very same text in one round trip, a batching query
   * function may run it once and hand both the same rows (which neither may then change).
   */
  shareable?: boolean;
  /**
   * A long read that need not share the round trip of the other checks' queries: the runner sends
   * it on its second session, which reads the same snapshot beside the first, when it opened one
   * (for a check that declares `readsBeside`); otherwise on the first, like any other query. The
   * queries of one chain (a read, then what its rows decide) should all say it.
   */
  beside?: boolean;
}

export interface QueryFn {
  <R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<R[]>;
}

/** Run-wide options, the same for every check. Inputs only some checks need are CheckInputs. */
export interface CheckOptions {
  /** Synapse release given with --synapse-version, e.g. "1.120.0". */
  synapseVersion?: string;
  /** Read every table maximum, even without an index. */
  thorough?: boolean;
  /** "Today", for end-of-life and age comparisons; tests pin it. */
  now?: Date;
}

/**
 * Inputs from the host that a check declares it needs (Check.inputs); the CLI gathers them
 * (src/cli/check-inputs.ts) and the runner hands each check only the ones it declared.
 */
export interface CheckInputs {
  /** This machine's memory (/proc/meminfo). Checks use it only for a server reached over a Unix socket or loopback. */
  localHostMemory?: HostMemory;
  /** --sqlite-database: the SQLite file synapse_port_db read, counted on demand. */
  sqliteDatabase?: SqliteSnapshotSource;
  /**
   * The Synapse processes that will connect, main first, each with the pools it opens (from
   * --config, --worker-config and --workers). Absent: the main process alone, as the target shows it.
   */
  synapseProcesses?: SynapseProcess[];
}

export type InputName = keyof CheckInputs;

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
  /** A command-line flag that also sets it (e.g. `db-host-memory`); --set wins over it. */
  flag?: string;
}

export type ParamValues = Record<string, number | string | boolean | null>;

export interface CheckContext {
  facts: ServerFacts;
  /** The database as configured, without the password (see src/target-view.ts). */
  target: CheckTarget;
  /** Runs inside the read-only transaction with the session's timeouts. */
  query: QueryFn;
  options: CheckOptions;
  /** The inputs this check declared (Check.inputs), when the caller has them. */
  inputs: Partial<CheckInputs>;
  /** This check's declared params, defaults overridden by what the user set. */
  params: ParamValues;
  /**
   * Opens a second session for reads that can run beside this one's: read-only, repeatable read,
   * the same timeouts and pins, in a transaction of its own that reads the run's snapshot when the
   * first session could export it (else its own). Undefined, or
   * resolving to undefined, when there is none to be had (a connection limit, a library caller
   * that offers none): the reads then go through `query`. The runner closes it with the run.
   */
  openReader?: () => Promise<ReaderSession | undefined>;
}

/** A second read-only session (CheckContext.openReader). Its first query also begins its transaction. */
export interface ReaderSession {
  /** Text without parameters: one or more statements, as `query` takes them. */
  query: QueryFn;
  /** Messages sent on it so far, for the report. */
  roundTrips(): number;
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
  /**
   * The codes its findings carry, code → meaning. Built-in checks declare every code they use;
   * a plugin without codes still works, its findings get DEFAULT_CODE.
   */
  codes?: Record<string, CodeSpec>;
  /** Settings the user may change, by name (kebab-case or snake_case, as the check chooses). */
  params?: Record<string, ParamSpec>;
  /** Host inputs it reads from ctx.inputs; it gets no others. */
  inputs?: InputName[];
  /**
   * Its long reads say `beside` (QueryOptions): the runner then opens its second session as soon as
   * the first has logged in, so that it is ready when they come. A function decides from the
   * check's params (sequence-drift's `second-session`).
   */
  readsBeside?: boolean | ((params: ParamValues) => boolean);
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
  /** Every finding the check returned, each with its code; `status` is the worst of them. */
  findings: ReportedFinding[];
  durationMs: number;
}
