// Connection keywords the way libpq (and so psycopg2 and Synapse) reads them: a URI or
// `key=value` string, the PG* environment, ~/.pgpass, then libpq's compiled-in defaults.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import type { ConnectionParams } from './target.js';

export type Keywords = Record<string, string>;

/** psycopg2 accepts `database` as an alias of libpq's `dbname`. */
const ALIASES: Record<string, string> = { database: 'dbname' };

const ENV_KEYWORDS: Record<string, string> = {
  PGHOST: 'host',
  PGHOSTADDR: 'hostaddr',
  PGPORT: 'port',
  PGDATABASE: 'dbname',
  PGUSER: 'user',
  PGPASSWORD: 'password',
  PGPASSFILE: 'passfile',
  PGSSLMODE: 'sslmode',
  PGSSLROOTCERT: 'sslrootcert',
  PGSSLCERT: 'sslcert',
  PGSSLKEY: 'sslkey',
  PGCONNECT_TIMEOUT: 'connect_timeout',
  PGOPTIONS: 'options',
  PGAPPNAME: 'application_name',
  PGTARGETSESSIONATTRS: 'target_session_attrs',
};

export function normalizeKeywords(input: Record<string, unknown>): Keywords {
  const out: Keywords = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    out[ALIASES[key] ?? key] = String(value);
  }
  return out;
}

export function keywordsFromEnv(env: NodeJS.ProcessEnv): Keywords {
  const out: Keywords = {};
  for (const [name, keyword] of Object.entries(ENV_KEYWORDS)) {
    const value = env[name];
    if (value !== undefined && value !== '') out[keyword] = value;
  }
  return out;
}

/** Parses `postgresql://...` URIs and libpq `key=value` strings. The input may hold a password. */
export function parseConnectionString(input: string): Keywords {
  const trimmed = input.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return parseUri(trimmed);
  if (/^\s*\w+\s*=/.test(trimmed)) return parseKeyValue(trimmed);
  throw usageError('dsn-invalid', 'the --dsn value is neither a postgresql:// URI nor a "key=value" connection string');
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // Never echo the input: it may contain the password.
    throw usageError('dsn-invalid', 'the --dsn URI has an invalid percent-encoding');
  }
}

function parseUri(uri: string): Keywords {
  const out: Keywords = {};
  let rest = uri.replace(/^postgres(ql)?:\/\//i, '');
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  if (q >= 0) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const hostspec = at >= 0 ? authority.slice(at + 1) : authority;
  if (userinfo) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      out.user = decode(userinfo.slice(0, colon));
      out.password = decode(userinfo.slice(colon + 1));
    } else {
      out.user = decode(userinfo);
    }
  }
  // libpq allows several hosts for failover; Synapse and this tool talk to the first one.
  const first = hostspec.split(',')[0] ?? '';
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(first);
  if (v6) {
    out.host = v6[1]!;
    if (v6[2]) out.port = v6[2];
  } else if (first) {
    const colon = first.lastIndexOf(':');
    if (colon >= 0) {
      if (first.slice(0, colon)) out.host = decode(first.slice(0, colon));
      if (first.slice(colon + 1)) out.port = first.slice(colon + 1);
    } else {
      out.host = decode(first);
    }
  }
  if (path) out.dbname = decode(path);
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair);
    out[ALIASES[key] ?? key] = decode(eq >= 0 ? pair.slice(eq + 1) : '');
  }
  if (out.port !== undefined && !/^\d+$/.test(out.port)) {
    throw usageError('dsn-invalid', 'the --dsn URI has a port that is not a number');
  }
  return out;
}

function parseKeyValue(input: string): Keywords {
  const out: Keywords = {};
  let i = 0;
  const skipSpace = () => { while (i < input.length && /\s/.test(input[i]!)) i++; };
  while (true) {
    skipSpace();
    if (i >= input.length) break;
    const keyMatch = /^(\w+)\s*=\s*/.exec(input.slice(i));
    if (!keyMatch) throw usageError('dsn-invalid', 'the --dsn connection string is not a list of key=value pairs');
    i += keyMatch[0].length;
    let value = '';
    if (input[i] === "'") {
      i++;
      while (i < input.length && input[i] !== "'") {
        if (input[i] === '\\') i++;
        value += input[i] ?? '';
        i++;
      }
      if (input[i] !== "'") throw usageError('dsn-invalid', 'the --dsn connection string has an unterminated quoted value');
      i++;
    } else {
      while (i < input.length && !/\s/.test(input[i]!)) {
        if (input[i] === '\\') i++;
        value += input[i] ?? '';
        i++;
      }
    }
    const key = keyMatch[1]!;
    out[ALIASES[key] ?? key] = value;
  }
  return out;
}

/** libpq's default socket directory differs by build: Debian uses /var/run/postgresql, upstream /tmp. */
function defaultSocketDir(port: number): string {
  const candidates = ['/var/run/postgresql', '/tmp'];
  return (
    candidates.find((d) => existsSync(join(d, `.s.PGSQL.${port}`))) ??
    candidates.find((d) => existsSync(d)) ??
    '/tmp'
  );
}

function unescapePgpassField(field: string): string {
  return field.replace(/\\(.)/g, '$1');
}

function splitPgpassLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) {
      current += ch + line[i + 1];
      i++;
    } else if (ch === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  fields.push(current);
  return fields;
}

/** Looks the password up in the password file the way libpq does (same matching, same permission rule). */
export function lookupPgpass(file: string, host: string, port: number, database: string, user: string): string | undefined {
  let text: string;
  try {
    const st = statSync(file);
    // libpq ignores a password file that group or others can read.
    if (!st.isFile() || (st.mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // A socket connection matches the host field "localhost", as in libpq.
  const hostForMatch = host.startsWith('/') ? 'localhost' : host;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw || raw.startsWith('#')) continue;
    const fields = splitPgpassLine(raw);
    if (fields.length !== 5) continue;
    const [h, p, d, u, pw] = fields as [string, string, string, string, string];
    const matches = (pattern: string, value: string) => pattern === '*' || unescapePgpassField(pattern) === value;
    if (matches(h, hostForMatch) && matches(p, String(port)) && matches(d, database) && matches(u, user)) {
      return unescapePgpassField(pw);
    }
  }
  return undefined;
}

export interface ResolveInput {
  /** Highest precedence first: e.g. [dsnKeywords, configArgs]. */
  explicit: { keywords: Keywords; passwordSource: 'uri' | 'config' }[];
  env: NodeJS.ProcessEnv;
}

/** Applies explicit keywords, then PG* variables, then .pgpass and libpq's defaults. */
export function resolveConnection({ explicit, env }: ResolveInput): ConnectionParams {
  const fromEnv = keywordsFromEnv(env);
  const keywords: Keywords = { ...fromEnv };
  let passwordSource: ConnectionParams['passwordSource'] = fromEnv.password !== undefined ? 'PGPASSWORD' : undefined;
  for (const layer of [...explicit].reverse()) {
    Object.assign(keywords, layer.keywords);
    if (layer.keywords.password !== undefined) passwordSource = layer.passwordSource;
  }
  const portText = keywords.port ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw usageError('config-port', `the port "${portText}" is not a valid TCP port number`);
  }
  // `hostaddr` skips name resolution in libpq; for us it is simply the address to dial.
  const host = keywords.hostaddr || keywords.host || defaultSocketDir(port);
  const user = keywords.user ?? safeUsername(env);
  const database = keywords.dbname ?? user;
  let password = keywords.password;
  if (password === undefined) {
    const passfile = keywords.passfile ?? join(env.HOME ?? homedir(), '.pgpass');
    password = lookupPgpass(passfile, host, port, database, user);
    if (password !== undefined) passwordSource = 'pgpass';
  }
  return {
    host,
    port,
    user,
    database,
    password,
    passwordSource: password === undefined ? undefined : passwordSource,
    sslmode: keywords.sslmode ?? 'prefer',
    sslrootcert: keywords.sslrootcert,
    sslcert: keywords.sslcert,
    sslkey: keywords.sslkey,
    options: keywords.options,
    targetSessionAttrs: keywords.target_session_attrs,
    // Checks read keywords (keepalives_*, connect_timeout); the password stays out of their reach.
    keywords: Object.fromEntries(Object.entries(keywords).filter(([k]) => k !== 'password')),
  };
}

function safeUsername(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? 'postgres';
  }
}
