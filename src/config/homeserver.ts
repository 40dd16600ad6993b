// Reads the database configuration out of Synapse's homeserver.yaml the way Synapse does
// (synapse/config/database.py): several files merge shallowly, `database` xor `databases`,
// `name` defaults to sqlite3, `args` go to libpq except the pool's `cp_*` keys.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PreflightError, EXIT, usageError } from '../errors.js';
import { shellQuote } from '../quote.js';
import type { Remediation } from '../types.js';
import type { SynapseDatabaseConfig } from './target.js';
import { pyNumber, pyRepr, pyStr, pyTruthy, pyTypeName } from './python.js';
import { twistedPoolSize } from './twisted-pool.js';
import { loadYaml11, PyFloat } from './yaml11.js';

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
    doc = loadYaml11(text, file);
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

/** A value as the user wrote it and as Python sees it, for messages: `"5" (a str)`. */
function shown(v: unknown): string {
  const type = pyTypeName(v);
  return `${pyRepr(v)} (${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type})`;
}

/**
 * A flag Synapse only tests with `if value:`. Anything but a YAML boolean still means something:
 * the note says what, because a quoted "no" being true surprises everyone.
 */
function truthFlag(where: string, v: unknown, notes: string[]): boolean {
  const value = pyTruthy(v);
  if (typeof v !== 'boolean' && v !== undefined) {
    notes.push(`${where} is ${v === null ? 'empty (None)' : shown(v)}, which Synapse reads as ${value ? 'true' : 'false'}, as Python's truth test does`);
  }
  return value;
}

/** Twisted's pool from cp_min/cp_max: Synapse's own crash as a usage error, else the sizes it uses. */
function poolSize(argsWhere: string, file: string, args: Record<string, unknown>, notes: string[]): { min: number; max: number } {
  const sizing = twistedPoolSize(args);
  if (!sizing.ok) {
    const v = Object.hasOwn(args, sizing.key) ? args[sizing.key] : undefined;
    // The TypeError/AssertionError of __init__ stop Synapse; range()'s comes later, in the pool's start().
    const effect = sizing.error.includes("'float'") ? "Twisted's pool cannot start its threads" : 'Synapse would not start';
    throw usageError('config-value', `${argsWhere}.${sizing.key} is ${v === undefined ? 'unset' : shown(v)} in ${file}: ${effect} (${sizing.error}, from Twisted's connection pool); write a whole number of connections, without quotes`);
  }
  if (args.cp_max instanceof PyFloat) {
    throw usageError('config-value', `${argsWhere}.cp_max is ${shown(args.cp_max)} in ${file}: a pool holds a whole number of connections (Twisted would open up to ${Math.ceil(args.cp_max.value)}); write a whole number`);
  }
  if (sizing.max === 0) {
    throw usageError('config-value', `${argsWhere}.cp_max is ${shown(args.cp_max)} in ${file}: Twisted's pool would start no thread at all, so Synapse would wait forever on its first query; set cp_max to 1 or more`);
  }
  for (const key of ['cp_min', 'cp_max'] as const) {
    if (typeof args[key] === 'boolean') notes.push(`${argsWhere}.${key} is ${shown(args[key])}, which Python counts as ${pyNumber(args[key])}`);
  }
  const cpMin = args.cp_min;
  if (Object.hasOwn(args, 'cp_min') && pyNumber(cpMin)! > sizing.max) {
    notes.push(`${argsWhere}.cp_min ${pyStr(cpMin)} is above cp_max ${sizing.max}: Twisted lowers it to ${sizing.max} (min(cp_min, cp_max)) and Synapse starts`);
  }
  return { min: sizing.min, max: sizing.max };
}

/** Twisted's own pool keys; Synapse passes cp_reactor and cp_openfun itself. Any other cp_* key reaches libpq. */
const TWISTED_CP_KEYS = new Set(['cp_min', 'cp_max', 'cp_name', 'cp_noisy', 'cp_reconnect', 'cp_good_sql']);

/** What psycopg2 and Twisted refuse before libpq ever sees the keywords. */
function refuseArgs(argsWhere: string, file: string, args: Record<string, unknown>): void {
  for (const key of ['cp_reactor', 'cp_openfun']) {
    if (Object.hasOwn(args, key)) {
      throw usageError('config-value', `${argsWhere}.${key} is set in ${file}: Synapse passes ${key} to Twisted itself and would not start (TypeError: twisted.enterprise.adbapi.ConnectionPool() got multiple values for keyword argument '${key}'); remove it`);
    }
  }
  const stray = Object.keys(args).find((k) => k.startsWith('cp_') && !TWISTED_CP_KEYS.has(k) && k !== 'cp_reactor' && k !== 'cp_openfun');
  if (stray) {
    throw usageError('config-value', `${argsWhere}.${stray} in ${file} is not one of Twisted's pool keys (${[...TWISTED_CP_KEYS].join(', ')}): Twisted passes it on to libpq, which refuses it (invalid connection option "${stray}"); remove it or fix its name`);
  }
  if (Object.hasOwn(args, 'database') && Object.hasOwn(args, 'dbname')) {
    throw usageError('config-value', `${argsWhere} sets both database and dbname in ${file}: psycopg2 refuses that (TypeError: you can't specify both 'database' and 'dbname' arguments); keep one`);
  }
  for (const key of ['host', 'hostaddr', 'port']) {
    const v = args[key];
    if (Array.isArray(v)) {
      // psycopg2 hands libpq str(v), and libpq cuts that at its commas.
      const text = pyStr(v);
      const parts = text.split(',').map((p) => JSON.stringify(p));
      throw usageError('config-value', `${argsWhere}.${key} is a YAML list in ${file}: psycopg2 passes libpq its Python text ${JSON.stringify(text)}, which libpq splits at the commas into ${parts.join(' and ')}, not ${v.map((x) => JSON.stringify(pyStr(x))).join(' and ')}; write a libpq list as one string, e.g. ${key}: "${v.map(pyStr).join(',')}"`);
    }
  }
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
  // db_config.get("name", "sqlite3"): an absent name is sqlite3, a present null is None.
  const name = Object.hasOwn(raw, 'name') ? raw.name : 'sqlite3';
  const args = raw.args ?? {};
  if (!isMapping(args)) throw usageError('config-database', `${sectionName}.args must be a mapping of libpq keywords`);
  if (name === 'sqlite3') {
    const path = typeof args.database === 'string' ? args.database : typeof cfg.merged.database_path === 'string' ? cfg.merged.database_path : 'homeserver.db';
    throw sqliteError(cfg, raw.name === undefined ? `${sectionName} has no "name", which Synapse reads as sqlite3` : `${sectionName}.name is sqlite3`, path);
  }
  if (name !== 'psycopg2') {
    throw usageError('config-database', `${sectionName}.name is ${name === null ? 'empty' : JSON.stringify(pyStr(name))}; Synapse supports only psycopg2 (PostgreSQL) and sqlite3 ("Unsupported database type ${pyRepr(name)}")`);
  }
  const stores = raw.data_stores ?? defaultStores;
  if (!Array.isArray(stores) || !stores.every((s) => typeof s === 'string')) {
    throw usageError('config-database', `${sectionName}.data_stores must be a list such as ["main", "state"]`);
  }
  const file = cfg.sectionFile[sectionName.split('.')[0]!] ?? cfg.files[cfg.files.length - 1] ?? 'homeserver.yaml';
  const argsWhere = `${sectionName}.args`;
  refuseArgs(argsWhere, file, args);
  const notes: string[] = [];
  const pool = poolSize(argsWhere, file, args, notes);
  return {
    label,
    section: raw,
    args,
    allowUnsafeLocale: truthFlag(`${sectionName}.allow_unsafe_locale`, raw.allow_unsafe_locale, notes),
    cpMin: Object.hasOwn(args, 'cp_min') ? pyNumber(args.cp_min) : undefined,
    cpMax: Object.hasOwn(args, 'cp_max') ? pyNumber(args.cp_max) : undefined,
    pool,
    // make_pool does setdefault("cp_reconnect", True): only an absent key means the default.
    cpReconnect: Object.hasOwn(args, 'cp_reconnect') ? truthFlag(`${argsWhere}.cp_reconnect`, args.cp_reconnect, notes) : undefined,
    notes,
    dataStores: stores as string[],
    ...(typeof cfg.merged.server_name === 'string' ? { serverName: cfg.merged.server_name } : {}),
    files: cfg.files,
  };
}

/** The databases Synapse would open, each with its label (`master` for a single `database:`). */
export function synapseDatabases(cfg: HomeserverConfig): SynapseDatabaseEntry[] {
  // Synapse tests both sections for truth: an empty `databases: {}` (or `database:`) is as if absent.
  const database = pyTruthy(cfg.merged.database) ? cfg.merged.database : undefined;
  const databases = pyTruthy(cfg.merged.databases) ? cfg.merged.databases : undefined;
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
