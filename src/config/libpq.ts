// Connection keywords the way libpq (and so psycopg2 and Synapse) reads them: a URI or
// `key=value` string, the PG* environment, ~/.pgpass, then libpq's compiled-in defaults.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { pyStr } from './python.js';
import type { ConnectionParams, HostSlot } from './target.js';

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
  PGLOADBALANCEHOSTS: 'load_balance_hosts',
};

/**
 * psycopg2's make_dsn: None is dropped, anything else becomes Python's str() of it, so `True`,
 * `5.0` and `['a', 'b']` are what libpq gets for a YAML true, 5.0 and [a, b].
 */
export function normalizeKeywords(input: Record<string, unknown>): Keywords {
  const out: Keywords = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === null || value === undefined) continue;
    out[ALIASES[key] ?? key] = pyStr(value);
  }
  return out;
}

/** libpq uses a set variable even when it is empty (PGSSLMODE= is `invalid sslmode value: ""`). */
export function keywordsFromEnv(env: NodeJS.ProcessEnv): Keywords {
  const out: Keywords = {};
  for (const [name, keyword] of Object.entries(ENV_KEYWORDS)) {
    const value = env[name];
    if (value !== undefined) out[keyword] = value;
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
  // libpq's URI form of a host list: `a:1,[::1]:2,b` becomes host "a,::1,b" and port "1,2,".
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const item of hostspec.split(',')) {
    const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(item);
    if (item.startsWith('[') && !v6) throw usageError('dsn-invalid', 'the --dsn URI has a malformed IPv6 host address: write it as [address] or [address]:port');
    if (v6 && !v6[1]) throw usageError('dsn-invalid', 'the --dsn URI has an empty IPv6 host address ("[]")');
    const colon = item.indexOf(':');
    hosts.push(v6 ? v6[1]! : colon >= 0 ? item.slice(0, colon) : item);
    ports.push(v6 ? v6[2] ?? '' : colon >= 0 ? item.slice(colon + 1) : '');
  }
  const hostText = decode(hosts.join(','));
  const portText = decode(ports.join(','));
  if (hostText) out.host = hostText;
  if (portText) out.port = portText;
  if (path) out.dbname = decode(path);
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair);
    out[ALIASES[key] ?? key] = decode(eq >= 0 ? pair.slice(eq + 1) : '');
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
  /** Highest precedence first: e.g. [dsnKeywords, configArgs]. `source` names it in messages. */
  explicit: { keywords: Keywords; passwordSource: 'uri' | 'config'; source?: string }[];
  env: NodeJS.ProcessEnv;
}

const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];
/** libpq 16 added `random`; an older libpq refuses the keyword itself, a newer one any other value. */
const LOAD_BALANCE_HOSTS = ['disable', 'random'];

/** libpq's own error text, with where the value came from (never a password: these keywords hold none). */
function libpqError(message: string, from: string | undefined): never {
  throw usageError('config-libpq', `${message} (libpq's error for the value from ${from ?? 'the connection settings'})`);
}

function countElems(list: string): number {
  return list.split(',').length;
}

/** libpq's pqParseIntParam (strtol, blanks around allowed, must fit an int) then its 1..65535 rule. */
function parsePort(text: string, from: string | undefined): number {
  if (text === '') return 5432;
  if (!/^\s*[-+]?\d+\s*$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) {
    libpqError(`invalid integer value "${text}" for connection option "port"`, from);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) libpqError(`invalid port number: "${text}"`, from);
  return port;
}

/**
 * libpq's pqConnectOptions2: one slot per hostaddr element (else per host element, else one),
 * host names matched to hostaddr values, and one port for all or one per host.
 */
function hostSlots(keywords: Keywords, origin: Record<string, string>): HostSlot[] {
  const hostaddr = keywords.hostaddr ?? '';
  const host = keywords.host ?? '';
  const n = hostaddr ? countElems(hostaddr) : host ? countElems(host) : 1;
  const addrs = hostaddr ? hostaddr.split(',') : [];
  const names = host ? host.split(',') : [];
  if (host && names.length !== n) libpqError(`could not match ${names.length} host names to ${n} hostaddr values`, origin.host);
  const portText = keywords.port ?? '';
  let ports = portText ? portText.split(',') : [''];
  if (ports.length === 1) ports = Array<string>(n).fill(ports[0]!);
  else if (ports.length !== n) libpqError(`could not match ${ports.length} port numbers to ${n} hosts`, origin.port);
  return Array.from({ length: n }, (_, i) => {
    const port = parsePort(ports[i]!, origin.port);
    const addr = addrs[i] || undefined;
    // No host name: the address stands for it (as in .pgpass lookups), else libpq's default,
    // the Unix socket directory.
    const name = names[i] || addr || defaultSocketDir(port);
    return { host: name, port, ...(addr ? { hostaddr: addr } : {}) };
  });
}

/** Applies explicit keywords, then PG* variables, then .pgpass and libpq's defaults. */
export function resolveConnection({ explicit, env }: ResolveInput): ConnectionParams {
  const fromEnv = keywordsFromEnv(env);
  const keywords: Keywords = { ...fromEnv };
  const origin: Record<string, string> = {};
  for (const [name, keyword] of Object.entries(ENV_KEYWORDS)) if (fromEnv[keyword] !== undefined) origin[keyword] = name;
  let passwordSource: ConnectionParams['passwordSource'] = fromEnv.password ? 'PGPASSWORD' : undefined;
  for (const layer of [...explicit].reverse()) {
    Object.assign(keywords, layer.keywords);
    for (const k of Object.keys(layer.keywords)) origin[k] = layer.source ?? (layer.passwordSource === 'uri' ? '--dsn' : 'the config');
    if (layer.keywords.password !== undefined) passwordSource = layer.passwordSource;
  }
  if (keywords.sslmode !== undefined && !SSLMODES.includes(keywords.sslmode)) {
    libpqError(`invalid sslmode value: "${keywords.sslmode}"`, origin.sslmode);
  }
  if (keywords.target_session_attrs !== undefined && !TARGET_SESSION_ATTRS.includes(keywords.target_session_attrs)) {
    libpqError(`invalid target_session_attrs value: "${keywords.target_session_attrs}"`, origin.target_session_attrs);
  }
  if (keywords.load_balance_hosts !== undefined && !LOAD_BALANCE_HOSTS.includes(keywords.load_balance_hosts)) {
    libpqError(`invalid load_balance_hosts value: "${keywords.load_balance_hosts}"`, origin.load_balance_hosts);
  }
  const hosts = hostSlots(keywords, origin);
  // `hostaddr` skips name resolution in libpq; for us it is simply the address to dial.
  const first = hosts[0]!;
  const host = first.hostaddr ?? first.host;
  const port = first.port;
  // libpq treats an empty user, dbname or password as not given.
  const user = keywords.user || safeUsername(env);
  const database = keywords.dbname || user;
  let password = keywords.password || undefined;
  if (password === undefined) {
    const passfile = keywords.passfile || join(env.HOME ?? homedir(), '.pgpass');
    // libpq looks the password up for each host, under its host name when there is one (not
    // hostaddr); the first host's is the target's, the others ride on their slots.
    for (const slot of hosts) {
      const found = lookupPgpass(passfile, slot.host, slot.port, database, user);
      if (found !== undefined && slot !== first) slot.password = found;
      if (slot === first) password = found;
    }
    if (password !== undefined || hosts.some((h) => h.password !== undefined)) passwordSource = 'pgpass';
  }
  return {
    host,
    port,
    hosts,
    user,
    database,
    password,
    passwordSource: password === undefined && !hosts.some((h) => h.password !== undefined) ? undefined : passwordSource,
    sslmode: keywords.sslmode ?? 'prefer',
    sslrootcert: keywords.sslrootcert,
    sslcert: keywords.sslcert,
    sslkey: keywords.sslkey,
    options: keywords.options,
    targetSessionAttrs: keywords.target_session_attrs,
    loadBalanceHosts: keywords.load_balance_hosts,
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
