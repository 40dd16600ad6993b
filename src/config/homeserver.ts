// Reads the database configuration out of Synapse's homeserver.yaml the way Synapse does
// (synapse/config/database.py): several files merge shallowly, `database` xor `databases`,
// `name` defaults to sqlite3, `args` go to libpq except the pool's `cp_*` keys.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { PreflightError, EXIT, usageError } from '../errors.js';
import { shellQuote } from '../quote.js';
import type { Remediation } from '../types.js';
import type { SynapseDatabaseConfig } from './target.js';

export interface HomeserverConfig {
  /** Top-level sections after merging, later files replacing earlier ones whole. */
  merged: Record<string, unknown>;
  files: string[];
  /** Which file each top-level section came from (the last one that set it). */
  sectionFile: Record<string, string>;
}

export interface SynapseDatabaseEntry extends SynapseDatabaseConfig {
  label: string;
}

/** A `--config` path may be a directory: Synapse reads its *.yaml files in sorted order. */
function expandConfigPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw usageError('config-not-found', `config file ${p} does not exist or cannot be read: check the --config path`);
    }
    if (isDir) {
      out.push(...readdirSync(p).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(p, f)));
    } else {
      out.push(p);
    }
  }
  return out;
}

function parseYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError('config-not-found', `config file ${file} cannot be read (${code ?? 'error'}): check the --config path and its permissions`);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (e) {
    // js-yaml's own message quotes the offending line, which may hold a password: use only the
    // reason and the position.
    const err = e as { reason?: string; mark?: { line: number; column: number } };
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    throw usageError('config-yaml', `config file ${file} is not valid YAML${where}: ${err.reason ?? 'parse error'}; fix the file and run again`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw usageError('config-yaml', `config file ${file} does not hold a YAML mapping at the top level, as homeserver.yaml must`);
  }
  return doc as Record<string, unknown>;
}

export function loadHomeserverConfig(paths: string[]): HomeserverConfig {
  const files = expandConfigPaths(paths);
  const merged: Record<string, unknown> = {};
  const sectionFile: Record<string, string> = {};
  for (const file of files) {
    const doc = parseYamlFile(file);
    for (const [key, value] of Object.entries(doc)) {
      merged[key] = value;
      sectionFile[key] = file;
    }
  }
  return { merged, files, sectionFile };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalInt(section: string, key: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw usageError('config-value', `${section}.${key} must be a whole number, not ${JSON.stringify(v)}`);
  return n;
}

function optionalBool(section: string, key: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  throw usageError('config-value', `${section}.${key} must be true or false, not ${JSON.stringify(v)}`);
}

/** The seed guide's two-phase port, with the user's own file names. */
export function sqlitePortSteps(configFile: string, sqlitePath: string): Remediation[] {
  const pgConfigPath = configFile.replace(/(\.ya?ml)?$/, (ext) => `-postgres${ext || '.yaml'}`);
  // Every path is shell-quoted: a config or database path with a space must paste as it is.
  const config = shellQuote(configFile);
  const pgConfig = shellQuote(pgConfigPath);
  const oldConfig = shellQuote(configFile.replace(/(\.ya?ml)?$/, '-old-sqlite$1'));
  const db = shellQuote(sqlitePath);
  const snapshot = shellQuote(`${sqlitePath}.snapshot`);
  return [
    {
      kind: 'shell',
      title: 'Create the role and a UTF8 / C-locale database (as the postgres OS user)',
      text: 'createuser --pwprompt synapse_user\ncreatedb --encoding=UTF8 --locale=C --template=template0 --owner=synapse_user synapse',
    },
    {
      kind: 'shell',
      title: 'Phase 1: port a snapshot while Synapse keeps running',
      text: [
        'synctl stop',
        `cp ${db} ${snapshot}`,
        'synctl start',
        `cp ${config} ${pgConfig}`,
        `# edit the database: section of ${pgConfigPath} (name: psycopg2, args: user, password, dbname, host, cp_min, cp_max)`,
        `synapse_port_db --sqlite-database ${snapshot} --postgres-config ${pgConfig}`,
      ].join('\n'),
    },
    {
      kind: 'shell',
      title: 'Phase 2: with Synapse stopped, port what came in since, then switch configs',
      text: [
        'synctl stop',
        `synapse_port_db --sqlite-database ${db} --postgres-config ${pgConfig}`,
        `mv ${config} ${oldConfig}`,
        `mv ${pgConfig} ${config}`,
        'synctl start',
      ].join('\n'),
    },
    {
      kind: 'text',
      text: 'Do not VACUUM the SQLite database between port runs, and expect the PostgreSQL database to take 25-100% more disk. Then run pg-preflight again with the new config.',
    },
  ];
}

function sqliteError(cfg: HomeserverConfig, reason: string, sqlitePath: string): PreflightError {
  const configFile = cfg.sectionFile.database ?? cfg.files[cfg.files.length - 1] ?? 'homeserver.yaml';
  return new PreflightError(
    `${reason}: Synapse runs on SQLite here, so there is no PostgreSQL database to check. Port it with synapse_port_db first (steps below).`,
    EXIT.usage,
    'config-sqlite',
    sqlitePortSteps(configFile, sqlitePath),
  );
}

function readEntry(label: string, sectionName: string, raw: unknown, cfg: HomeserverConfig, defaultStores: string[]): SynapseDatabaseEntry {
  if (!isMapping(raw)) throw usageError('config-database', `${sectionName} must be a mapping with "name" and "args"`);
  const name = raw.name ?? 'sqlite3';
  const args = raw.args ?? {};
  if (!isMapping(args)) throw usageError('config-database', `${sectionName}.args must be a mapping of libpq keywords`);
  if (name === 'sqlite3') {
    const path = typeof args.database === 'string' ? args.database : typeof cfg.merged.database_path === 'string' ? cfg.merged.database_path : 'homeserver.db';
    throw sqliteError(cfg, raw.name === undefined ? `${sectionName} has no "name", which Synapse reads as sqlite3` : `${sectionName}.name is sqlite3`, path);
  }
  if (name !== 'psycopg2') {
    throw usageError('config-database', `${sectionName}.name is ${JSON.stringify(name)}; Synapse supports only psycopg2 (PostgreSQL) and sqlite3`);
  }
  const stores = raw.data_stores ?? defaultStores;
  if (!Array.isArray(stores) || !stores.every((s) => typeof s === 'string')) {
    throw usageError('config-database', `${sectionName}.data_stores must be a list such as ["main", "state"]`);
  }
  return {
    label,
    section: raw,
    args,
    allowUnsafeLocale: optionalBool(sectionName, 'allow_unsafe_locale', raw.allow_unsafe_locale) ?? false,
    cpMin: optionalInt(`${sectionName}.args`, 'cp_min', args.cp_min),
    cpMax: optionalInt(`${sectionName}.args`, 'cp_max', args.cp_max),
    cpReconnect: optionalBool(`${sectionName}.args`, 'cp_reconnect', args.cp_reconnect),
    dataStores: stores as string[],
    ...(typeof cfg.merged.server_name === 'string' ? { serverName: cfg.merged.server_name } : {}),
    files: cfg.files,
  };
}

/** The databases Synapse would open, each with its label (`master` for a single `database:`). */
export function synapseDatabases(cfg: HomeserverConfig): SynapseDatabaseEntry[] {
  const { database, databases } = cfg.merged;
  const where = cfg.files.join(', ');
  if (database !== undefined && databases !== undefined) {
    throw usageError('config-database', `${where} sets both "database" and "databases"; Synapse refuses that, keep one of them`);
  }
  if (databases !== undefined) {
    if (!isMapping(databases) || Object.keys(databases).length === 0) {
      throw usageError('config-database', '"databases" must map a label to a database section (with name, args, data_stores)');
    }
    const entries = Object.entries(databases).map(([label, raw]) => readEntry(label, `databases.${label}`, raw, cfg, ['main', 'state']));
    for (const store of ['main', 'state']) {
      const holders = entries.filter((e) => e.dataStores.includes(store));
      if (holders.length > 1) {
        throw usageError('config-database', `data store "${store}" is configured in ${holders.map((h) => h.label).join(' and ')}; Synapse refuses that`);
      }
    }
    return entries;
  }
  if (database === undefined) {
    const path = typeof cfg.merged.database_path === 'string' ? cfg.merged.database_path : 'homeserver.db';
    throw sqliteError(cfg, `${where} has no database: section`, path);
  }
  return [readEntry('master', 'database', database, cfg, ['main', 'state'])];
}

/** libpq keywords from `args`: everything but the connection pool's `cp_*` keys. */
export function libpqArgs(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([k]) => !k.startsWith('cp_')));
}
