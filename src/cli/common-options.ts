import type { Argv } from 'yargs';
import type { SessionLimits } from '../connection.js';
import { usageError } from '../errors.js';
import type { WaitOptions } from '../wait.js';
import { FORMATS, type Format } from '../reporters/index.js';
import { DEFAULT_JOBS } from '../pool.js';

export type { Format };

/** Options shared by every command that talks to a database (check, fix). */
export interface ConnectionArgs {
  dsn?: string;
  config?: string[];
  'connect-timeout': number;
  'statement-timeout': number;
  'lock-timeout': number;
  wait?: number;
  'wait-interval': number;
}

export interface CheckArgs extends Omit<ConnectionArgs, 'dsn'> {
  /** Repeatable for check: each --dsn its own target (one with --config overrides its connection). */
  dsn?: string[];
  homeserver?: string[];
  'all-databases': boolean;
  jobs: number;
  format: Format;
  output?: string;
  report?: string[];
  color: boolean;
  quiet: boolean;
  /** Undefined when not given: the rules file's fail-on, else error. */
  'fail-on'?: string;
  rules?: string;
  plugin?: string[];
  only?: string[];
  skip?: string[];
  set?: string[];
  'synapse-version'?: string;
  thorough: boolean;
  'db-host-memory'?: string;
  'sqlite-database'?: string;
  'worker-config'?: string[];
  workers?: number;
}

export interface FixArgs extends ConnectionArgs {
  format: Format;
  color: boolean;
  apply: boolean;
  force: boolean;
  set?: string[];
  plugin?: string[];
  thorough: boolean;
}

export function withConnectionOptions<T>(y: Argv<T>) {
  return withSessionOptions(
    y
    .option('dsn', { type: 'string', describe: 'Connection URI or "key=value" string; wins over --config and PG* variables', group: 'Connection:' })
    .option('config', { alias: 'c', type: 'string', array: true, describe: 'Synapse homeserver.yaml (repeatable; merged like Synapse merges them)', group: 'Connection:' })
  );
}

/** check takes many targets: --dsn and --homeserver repeat, --all-databases lists a server's. */
export function withTargetOptions<T>(y: Argv<T>) {
  return withSessionOptions(
    y
    .option('dsn', { type: 'string', array: true, describe: 'Connection URI or "key=value" string (repeatable: one target each; with --config, one that wins over its connection)', group: 'Connection:' })
    .option('config', { alias: 'c', type: 'string', array: true, describe: 'Synapse homeserver.yaml of one homeserver (repeatable; merged like Synapse merges them)', group: 'Connection:' })
    .option('homeserver', { type: 'string', array: true, describe: 'A homeserver of its own: its homeserver.yaml, or a directory of its config files (repeatable; targets named PATH:label)', group: 'Connection:' })
    .option('all-databases', { type: 'boolean', default: false, describe: 'Check every database of the --dsn (or PG*) server that the role may connect to, templates left out', group: 'Connection:' })
    .option('jobs', { type: 'number', default: DEFAULT_JOBS, describe: 'Databases checked at once, one read-only session each', group: 'Connection:' })
  );
}

/** The timeouts' defaults in seconds; src/cli/early-login.ts reads the same flags before yargs does. */
export const SESSION_DEFAULTS = { 'connect-timeout': 10, 'statement-timeout': 5, 'lock-timeout': 2 };

/** Limits and --wait, the same for every session a command opens. */
function withSessionOptions<T>(y: Argv<T>) {
  return y
    .option('connect-timeout', { type: 'number', default: SESSION_DEFAULTS['connect-timeout'], describe: 'Seconds to wait for a connection and login', group: 'Connection:' })
    .option('statement-timeout', { type: 'number', default: SESSION_DEFAULTS['statement-timeout'], describe: 'Seconds any one query may run', group: 'Connection:' })
    .option('lock-timeout', { type: 'number', default: SESSION_DEFAULTS['lock-timeout'], describe: 'Seconds to wait for a lock', group: 'Connection:' })
    .option('wait', { type: 'number', describe: 'Keep trying to log in for up to this many seconds while the server is not up yet (container starts); exit 3 when time is up', group: 'Connection:' })
    .option('wait-interval', { type: 'number', default: 1, describe: 'Longest pause between --wait attempts, in seconds (pauses start at 0.25 s and double)', group: 'Connection:' });
}

export function withCheckOptions<T>(y: Argv<T>) {
  return withTargetOptions(y)
    .option('format', { alias: 'f', choices: FORMATS, default: 'text' as Format, describe: 'Output format', group: 'Output:' })
    .option('output', { alias: 'o', type: 'string', describe: 'Write the --format report to this file (atomically) instead of stdout', group: 'Output:' })
    .option('report', { type: 'string', array: true, describe: 'Also write a report to a file: FORMAT:FILE, e.g. sarif:pg-preflight.sarif (repeatable)', group: 'Output:' })
    .option('color', { type: 'boolean', default: true, describe: 'Colour text output (--no-color; NO_COLOR and non-TTY also turn it off)', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing when all is well, only the problems otherwise', group: 'Output:' })
    .option('fail-on', { choices: ['error', 'warning', 'never'], defaultDescription: 'error, or fail-on: in the rules file', describe: 'Lowest status that makes the exit code 1', group: 'Checks:' })
    .option('rules', { type: 'string', describe: 'Rules file (severities, params, waivers, plugins); default ./.pg-preflight.yaml when it exists', group: 'Checks:' })
    .option('plugin', { type: 'string', array: true, describe: 'Load checks from a module: a path to a .js file or an installed package name (repeatable)', group: 'Checks:' })
    .option('only', { type: 'string', array: true, describe: 'Run only these check ids (comma-separated or repeated)', group: 'Checks:' })
    .option('skip', { type: 'string', array: true, describe: 'Skip these check ids', group: 'Checks:' })
    .option('set', { type: 'string', array: true, describe: 'Set a check param: check-id.param=value (repeatable; "explain <id>" lists them)', group: 'Checks:' })
    .option('synapse-version', { type: 'string', describe: 'Synapse release that will run on the database, e.g. 1.157.1', group: 'Checks:' })
    .option('thorough', { type: 'boolean', default: false, describe: 'Read table maxima even without an index (slow on large tables)', group: 'Checks:' })
    .option('db-host-memory', { type: 'string', describe: "RAM of the database host, e.g. 16GiB (memory-settings; default: /proc/meminfo when the server is on this machine)", group: 'Checks:' })
    .option('sqlite-database', { type: 'string', describe: 'The SQLite database synapse_port_db ported from: compare its row counts with PostgreSQL (sqlite-port)', group: 'Checks:' })
    .option('worker-config', { type: 'string', array: true, describe: 'A Synapse worker\'s config file, merged over --config as Synapse does (repeatable; for connection-budget and synapse-schema)', group: 'Checks:' })
    .option('workers', { type: 'number', describe: 'N more Synapse workers that use the shared database config (for connection-budget)', group: 'Checks:' });
}

export function withFixOptions<T>(y: Argv<T>) {
  return withConnectionOptions(y)
    .option('apply', { type: 'boolean', default: false, describe: 'Run the plan, each sequence locked against writers while it is set (without it, only show it)', group: 'Fix:' })
    .option('force', { type: 'boolean', default: false, describe: 'Apply even while other sessions are connected to the database', group: 'Fix:' })
    .option('set', { type: 'string', array: true, describe: 'Set a check param: check-id.param=value', group: 'Fix:' })
    .option('plugin', { type: 'string', array: true, describe: 'Load checks from a module (as check --plugin); those that declare fixes are applied too', group: 'Fix:' })
    .option('thorough', { type: 'boolean', default: false, describe: 'Read table maxima even without an index (slow on large tables)', group: 'Fix:' })
    .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as Format, describe: 'Output format', group: 'Output:' })
    .option('color', { type: 'boolean', default: true, describe: 'Colour text output', group: 'Output:' });
}

function seconds(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw usageError('usage', `--${name} must be a positive number of seconds`);
  return Math.round(value * 1000);
}

export function limitsFrom(args: Pick<ConnectionArgs, 'connect-timeout' | 'statement-timeout' | 'lock-timeout'>): SessionLimits {
  return {
    connectTimeoutMs: seconds('connect-timeout', args['connect-timeout']),
    statementTimeoutMs: seconds('statement-timeout', args['statement-timeout']),
    lockTimeoutMs: seconds('lock-timeout', args['lock-timeout']),
  };
}

/** --wait and --wait-interval; undefined without --wait (then nothing retries). */
export function waitFrom(args: Omit<ConnectionArgs, 'dsn'>, onNote?: (note: string) => void): WaitOptions | undefined {
  if (args.wait === undefined) return undefined;
  if (!Number.isFinite(args.wait) || args.wait < 0) throw usageError('usage', '--wait must be a number of seconds, 0 or more');
  if (args.wait === 0) return undefined;
  return { timeoutMs: Math.round(args.wait * 1000), intervalMs: seconds('wait-interval', args['wait-interval']), onNote };
}

