import { usageError } from '../errors.js';
import { libpqArgs, loadHomeserverConfig, synapseDatabases, type HomeserverConfig } from './homeserver.js';
import { normalizeKeywords, parseConnectionString, resolveConnection, type Keywords } from './libpq.js';
import type { DatabaseTarget } from './target.js';

export interface TargetInput {
  /** --dsn: a URI or key=value string; wins over everything else. */
  dsn?: string;
  /** --config: homeserver.yaml files (or directories), merged in order. */
  configPaths?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedTargets {
  targets: DatabaseTarget[];
  homeserver?: HomeserverConfig;
}

/** Every database to check, with connection settings from --dsn, then --config, then PG* and defaults. */
export function resolveTargets(input: TargetInput): ResolvedTargets {
  const env = input.env ?? process.env;
  const dsnKeywords: Keywords | undefined = input.dsn !== undefined ? parseConnectionString(input.dsn) : undefined;
  const dsnLayer = dsnKeywords ? [{ keywords: dsnKeywords, passwordSource: 'uri' as const, source: '--dsn' }] : [];

  if (input.configPaths && input.configPaths.length > 0) {
    const homeserver = loadHomeserverConfig(input.configPaths);
    const entries = synapseDatabases(homeserver);
    if (dsnKeywords && entries.length > 1) {
      throw usageError('dsn-with-databases', '--dsn names one database but the config has several under "databases:"; drop --dsn to check them all');
    }
    const targets = entries.map((entry): DatabaseTarget => ({
      label: entry.label,
      connection: resolveConnection({
        explicit: [
          ...dsnLayer,
          {
            keywords: normalizeKeywords(libpqArgs(entry.args)),
            passwordSource: 'config',
            source: `${entry.label === 'master' && homeserver.merged.databases === undefined ? 'database' : `databases.${entry.label}`}.args in ${homeserver.sectionFile.database ?? homeserver.sectionFile.databases ?? homeserver.files.join(', ')}`,
          },
        ],
        env,
      }),
      synapse: entry,
      source: dsnKeywords ? 'dsn' : 'config',
    }));
    return { targets, homeserver };
  }
  return {
    targets: [
      {
        label: 'master',
        connection: resolveConnection({ explicit: dsnLayer, env }),
        source: dsnKeywords ? 'dsn' : 'environment',
      },
    ],
  };
}
