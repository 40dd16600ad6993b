// The targets of a run from everything that can name one: --dsn (repeatable), --config (one
// homeserver), --homeserver (repeatable), PG* variables, and --all-databases over each server.
import { expandAllDatabases } from './all-databases.js';
import { resolveFleet } from './config/fleet.js';
import type { TargetInput } from './config/resolve.js';
import type { DatabaseTarget } from './config/target.js';
import { DEFAULT_LIMITS, type SessionLimits } from './connection.js';
import { usageError } from './errors.js';
import type { WaitOptions } from './wait.js';

export interface RunTargetInput extends TargetInput {
  /** More --dsn targets, after `dsn`. */
  dsns?: string[];
  /** --homeserver: each path one homeserver of its own. */
  homeservers?: string[];
  /** --all-databases: every database of each --dsn (or PG*) server that the role may connect to. */
  allDatabases?: boolean;
  limits?: Partial<SessionLimits>;
  /** With --all-databases, listing the databases is the run's first login and waits like it. */
  wait?: WaitOptions;
}

/** The targets the input names, before --all-databases lists any server's databases. */
export function resolveNamedTargets(input: RunTargetInput): DatabaseTarget[] {
  if (input.allDatabases && ((input.configPaths?.length ?? 0) > 0 || (input.homeservers?.length ?? 0) > 0)) {
    throw usageError('usage', '--all-databases lists the databases of the servers --dsn (or PG* variables) name; a homeserver names its own databases, so leave out --config and --homeserver');
  }
  const dsns = [...(input.dsn !== undefined ? [input.dsn] : []), ...(input.dsns ?? [])];
  return resolveFleet({ dsns, configPaths: input.configPaths, homeservers: input.homeservers, env: input.env });
}

export async function resolveRunTargets(input: RunTargetInput): Promise<DatabaseTarget[]> {
  const targets = resolveNamedTargets(input);
  return input.allDatabases ? expandAllDatabases(targets, { ...DEFAULT_LIMITS, ...input.limits }, input.wait) : targets;
}

/** --jobs: a whole number from 1 up. */
export function parseJobs(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  // yargs has already made a number of it: a word arrives as NaN.
  if (!Number.isInteger(n) || n < 1) throw usageError('usage', `--jobs must be a whole number of databases to check at once, 1 or more, not ${Number.isNaN(n) ? 'a word' : n}`);
  return n;
}
