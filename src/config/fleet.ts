// Many targets in one run: several --dsn, several --homeserver, beside the one homeserver that
// --config merges from its files. Each target gets a name that is unique in the run and the same
// from run to run (README "Many databases"), so that reports, Prometheus series and waivers can
// tell two homeservers' `master` databases apart.
import { usageError } from '../errors.js';
import { resolveTargets } from './resolve.js';
import type { DatabaseTarget } from './target.js';

export interface FleetInput {
  /** --dsn, each a target of its own (one --dsn with --config overrides that homeserver's connection instead). */
  dsns?: string[];
  /** --config: the files of one homeserver (and its workers), merged. */
  configPaths?: string[];
  /** --homeserver: each a homeserver of its own (a file, or a directory of files merged). */
  homeservers?: string[];
  env?: NodeJS.ProcessEnv;
}

/** `host:port/database`, the name of a target that only a connection string describes. */
export function connectionName(target: Pick<DatabaseTarget, 'connection'>): string {
  const { host, port, database } = target.connection;
  return `${host}:${port}/${database}`;
}

/** The name a --homeserver argument gives its databases: the path as given, without a trailing slash. */
function homeserverPrefix(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** True when the input names more than one homeserver or server, so names need a prefix. */
export function isFleet(input: FleetInput): boolean {
  return (input.homeservers?.length ?? 0) > 0 || (input.dsns?.length ?? 0) > 1;
}

/** Every target of the run, in the order given: --config's, then each --dsn, then each --homeserver. */
export function resolveFleet(input: FleetInput): DatabaseTarget[] {
  const env = input.env ?? process.env;
  const dsns = input.dsns ?? [];
  const homeservers = input.homeservers ?? [];
  const configPaths = input.configPaths ?? [];
  if (!isFleet(input)) return resolveTargets({ dsn: dsns[0], configPaths, env }).targets;
  if (configPaths.length > 0 && dsns.length > 0) {
    throw usageError('usage', '--dsn together with --config overrides that homeserver\'s connection, so it takes one --dsn and no --homeserver; give the other databases as --homeserver or --dsn without --config');
  }
  const targets: DatabaseTarget[] = [];
  if (configPaths.length > 0) targets.push(...resolveTargets({ configPaths, env }).targets);
  for (const dsn of dsns) {
    const [target] = resolveTargets({ dsn, env }).targets;
    targets.push({ ...target!, name: connectionName(target!) });
  }
  for (const path of homeservers) {
    const prefix = homeserverPrefix(path);
    for (const t of resolveTargets({ configPaths: [path], env }).targets) targets.push({ ...t, name: `${prefix}:${t.label}` });
  }
  assertUniqueNames(targets);
  return targets;
}

export function assertUniqueNames(targets: DatabaseTarget[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    const name = t.name ?? t.label;
    if (seen.has(name)) throw usageError('usage', `two targets are both named "${name}": give each database once (the same --dsn or --homeserver twice?)`);
    seen.add(name);
  }
}
