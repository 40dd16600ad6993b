import type { Argv } from 'yargs';
import type { SessionLimits } from '../connection.js';
import { usageError } from '../errors.js';
import { parseIdList } from '../registry.js';

export type Format = 'text' | 'json';

/** Options shared by every command that talks to a database (check, fix). */
export interface ConnectionArgs {
  dsn?: string;
  config?: string[];
  'connect-timeout': number;
  'statement-timeout': number;
  'lock-timeout': number;
}

export interface CheckArgs extends ConnectionArgs {
  format: Format;
  color: boolean;
  quiet: boolean;
  'fail-on': string;
  only?: string[];
  skip?: string[];
  set?: string[];
  'synapse-version'?: string;
  thorough: boolean;
  'worker-config'?: string[];
  workers?: number;
}

export function withConnectionOptions<T>(y: Argv<T>) {
  return y
    .option('dsn', { type: 'string', describe: 'Connection URI or "key=value" string; wins over --config and PG* variables', group: 'Connection:' })
    .option('config', { alias: 'c', type: 'string', array: true, describe: 'Synapse homeserver.yaml (repeatable; merged like Synapse merges them)', group: 'Connection:' })
    .option('connect-timeout', { type: 'number', default: 10, describe: 'Seconds to wait for a connection and login', group: 'Connection:' })
    .option('statement-timeout', { type: 'number', default: 5, describe: 'Seconds any one query may run', group: 'Connection:' })
    .option('lock-timeout', { type: 'number', default: 2, describe: 'Seconds to wait for a lock', group: 'Connection:' });
}

export function withCheckOptions<T>(y: Argv<T>) {
  return withConnectionOptions(y)
    .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as Format, describe: 'Output format', group: 'Output:' })
    .option('color', { type: 'boolean', default: true, describe: 'Colour text output (--no-color; NO_COLOR and non-TTY also turn it off)', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing when all is well, only the problems otherwise', group: 'Output:' })
    .option('fail-on', { choices: ['error', 'warning', 'never'], default: 'error', describe: 'Lowest status that makes the exit code 1', group: 'Checks:' })
    .option('only', { type: 'string', array: true, describe: 'Run only these check ids (comma-separated or repeated)', group: 'Checks:' })
    .option('skip', { type: 'string', array: true, describe: 'Skip these check ids', group: 'Checks:' })
    .option('set', { type: 'string', array: true, describe: 'Set a check param: check-id.param=value (repeatable; "explain <id>" lists them)', group: 'Checks:' })
    .option('synapse-version', { type: 'string', describe: 'Synapse release that will run on the database, e.g. 1.157.1', group: 'Checks:' })
    .option('thorough', { type: 'boolean', default: false, describe: 'Read table maxima even without an index (slow on large tables)', group: 'Checks:' })
    .option('worker-config', { type: 'string', array: true, describe: 'A Synapse worker\'s config file, merged over --config as Synapse does (repeatable; for connection-budget)', group: 'Checks:' })
    .option('workers', { type: 'number', describe: 'N more Synapse workers that use the shared database config (for connection-budget)', group: 'Checks:' });
}

function seconds(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw usageError('usage', `--${name} must be a positive number of seconds`);
  return Math.round(value * 1000);
}

export function limitsFrom(args: ConnectionArgs): SessionLimits {
  return {
    connectTimeoutMs: seconds('connect-timeout', args['connect-timeout']),
    statementTimeoutMs: seconds('statement-timeout', args['statement-timeout']),
    lockTimeoutMs: seconds('lock-timeout', args['lock-timeout']),
  };
}

export { parseIdList };
