// One connection per database, with hard limits on connect time and on every statement.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { DatabaseTarget } from './config/target.js';
import { diagnoseConnectionError, isConnectionLost, connectionLostError } from './connection-errors.js';
import { chooseHost, hasSeveralHosts, type HostChoice } from './multi-host.js';
import { quoteLiteral } from './quote.js';
import { APPLICATION_NAME } from './own-sessions.js';
import type { QueryFn, QueryOptions } from './types.js';
import type { OpenedClient, SessionLimits } from './connection-types.js';
import { asPreconnected, negotiatePreferred } from './connection-ssl.js';

export type { OpenedClient, SessionLimits } from './connection-types.js';

export const DEFAULT_LIMITS: SessionLimits = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 5_000,
  lockTimeoutMs: 2_000,
};

export interface Session {
  query: QueryFn;
  /** One message of one or more statements (no parameters); the rows of each statement, in order. */
  queryEach(sql: string, options?: QueryOptions): Promise<Record<string, unknown>[][]>;
  /** server_version_num as the server announced it at login (ParameterStatus), before any query. */
  serverVersionNum: number;
  /** The server process of this session (BackendKeyData), as pg_backend_pid() says. */
  pid: number;
  /** Statements sent to the server so far (each is one round trip). */
  roundTrips(): number;
  /**
   * Starts the read-only transaction (on `snapshot`, another session's pg_export_snapshot(), when
   * given); `firstSql` (no parameters) rides in the same round trip, waited for as `opts` says.
   */
  beginReadOnly<R extends Record<string, unknown>>(firstSql?: string, opts?: QueryOptions, snapshot?: string): Promise<R[]>;
  /** Ends the session; with `wait`, resolves once the server has closed it (its backend gone). */
  close(opts?: { wait?: boolean }): Promise<void>;
  /** With several hosts: the target as connected (the chosen host as its host and port)... */
  target?: DatabaseTarget;
  /** ...which host that is and why, and why the others were passed over. */
  hostChoice?: HostChoice;
}

/** What one login attempt does about SSL: none, node-postgres's own, or libpq's prefer. */
type SslSetting = false | ConnectionOptions | { prefer: ConnectionOptions };

function readIfSet(path: string | undefined): string | undefined {
  return path ? readFileSync(path, 'utf8') : undefined;
}

/** libpq sslmode → node-postgres ssl options, in the order libpq would try them. */
function sslAttempts(target: DatabaseTarget): SslSetting[] {
  const c = target.connection;
  if (c.host.startsWith('/')) return [false];
  const files = { ca: readIfSet(c.sslrootcert), cert: readIfSet(c.sslcert), key: readIfSet(c.sslkey) };
  const unverified: ConnectionOptions = { ...files, rejectUnauthorized: false };
  switch (c.sslmode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, unverified];
    case 'prefer':
      return [{ prefer: unverified }];
    case 'require':
      // libpq verifies the CA under "require" only when a root certificate is given.
      return [c.sslrootcert ? { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined } : unverified];
    case 'verify-ca':
      return [{ ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [{ ...files, rejectUnauthorized: true }];
    default:
      return [{ prefer: unverified }];
  }
}

/**
 * Whether a failed attempt leads to the next one, as libpq's allow: the server answered the
 * plain login with an error (a pg_hba.conf line for SSL only, say), so it is tried again with SSL.
 * A network error ends the attempts. (prefer is one attempt since connection-ssl.ts.)
 */
function triesNext(err: unknown): boolean {
  return err instanceof pg.DatabaseError;
}

/**
 * Settings a read-only inspector pins for its own session, whatever the server's defaults, given
 * at login where every supported major knows them:
 * - max_parallel_workers_per_gather=0: parallel workers come out of max_worker_processes, which
 *   the application's own queries need more than a preflight does;
 * - DateStyle/IntervalStyle: the formats node-postgres parses.
 */
const LOGIN_SETTINGS = ['max_parallel_workers_per_gather=0', 'DateStyle=ISO', 'IntervalStyle=postgres'];

/**
 * Settings that not every supported major has, so they are set inside the transaction (SET LOCAL)
 * where the server has them, and last for all of it:
 * - jit=off (PostgreSQL 11+): with LLVM JIT, as Debian's, PGDG's and most managed servers ship it,
 *   a catalog query whose estimated cost passes jit_above_cost is compiled on every execution
 *   (20-60 ms a statement, measured on Debian's 15), and compilation cannot be interrupted by
 *   statement_timeout. Nothing a preflight runs is worth compiling.
 */
export function transactionSettings(versionNum: number): string[] {
  return versionNum >= 110000 ? ['SET LOCAL jit = off'] : [];
}

/**
 * What opens a check's transaction. REPEATABLE READ: every check sees the same snapshot. READ
 * ONLY: the server refuses writes, including nextval() and temp tables, whatever a check (or a
 * plugin) tries. With `snapshot` (pg_export_snapshot() of the first session) a second session
 * reads that same snapshot; SET TRANSACTION SNAPSHOT must come before any query.
 */
export function beginStatements(versionNum: number, snapshot?: string): string[] {
  return [
    'BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY',
    ...(snapshot ? [`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`] : []),
    ...transactionSettings(versionNum),
  ];
}


/** What the client allows a message beyond what its statements may take on the server. */
const MESSAGE_SLACK_MS = 5_000;


export async function openSession(target: DatabaseTarget, limits: SessionLimits = DEFAULT_LIMITS, applicationName = APPLICATION_NAME): Promise<Session> {
  if (hasSeveralHosts(target)) return openChosenHost(target, limits);
  let opened: OpenedClient;
  try {
    opened = await connectClient(target, limits, applicationName);
  } catch (err) {
    throw diagnoseConnectionError(err, target, limits);
  }
  return wrapClient(opened.client, target, opened.serverVersionNum, limits);
}

/** Several hosts: the one libpq would settle on (src/multi-host.ts), and why not the others. */
async function openChosenHost(target: DatabaseTarget, limits: SessionLimits): Promise<Session> {
  const chosen = await chooseHost(target, limits, connectClient);
  const session = wrapClient(chosen.opened.client, chosen.target, chosen.opened.serverVersionNum, limits, chosen.roundTrips);
  return { ...session, target: chosen.target, hostChoice: chosen.choice };
}

/** A logged-in client before a Session wraps it, with what the server announced at login. */

/** Logs in to target.connection's host and port with libpq's sslmode attempts; throws what the driver threw. */
export async function connectClient(target: DatabaseTarget, limits: SessionLimits, applicationName = APPLICATION_NAME): Promise<OpenedClient> {
  const c = target.connection;
  let lastError: unknown;
  for (const ssl of sslAttempts(target)) {
    const started = Date.now();
    const prefer = ssl !== false && 'prefer' in ssl ? ssl.prefer : undefined;
    const stream = prefer ? asPreconnected(await negotiatePreferred(c.host, c.port, prefer, limits.connectTimeoutMs)) : undefined;
    const client = new pg.Client({
      host: c.host,
      port: c.port,
      user: c.user,
      database: c.database,
      // A function: node-postgres then never looks at PGPASSWORD or ~/.pgpass itself (the config
      // layer applied them already, as libpq does), and the password lives in this closure only.
      // @types/pg wants a string; pg itself takes undefined as "no password" (client.js _getPassword).
      password: (async () => c.password) as () => Promise<string>,
      ssl: prefer ? false : (ssl as false | ConnectionOptions),
      ...(stream ? { stream: () => stream } : {}),
      // The user's own options (search_path, say) first; ours after them, so that ours win.
      options: [c.options, ...LOGIN_SETTINGS.map((x) => `-c ${x}`)].filter(Boolean).join(' '),
      application_name: applicationName,
      // One budget for the whole connection, as libpq's connect_timeout: what SSL negotiation left.
      connectionTimeoutMillis: Math.max(1, limits.connectTimeoutMs - (Date.now() - started)),
      statement_timeout: limits.statementTimeoutMs,
      lock_timeout: limits.lockTimeoutMs,
      // Nothing we do should sit idle in a transaction; if we hang, the server cleans up.
      idle_in_transaction_session_timeout: Math.max(limits.statementTimeoutMs * 2, 10_000),
      // A server that stops answering mid-run: the client gives up a little after the server would
      // (per message: see wrapClient).
      query_timeout: limits.statementTimeoutMs + MESSAGE_SLACK_MS,
      keepAlive: true,
    });
    // An error event without a listener would crash the process; queries report it instead.
    client.on('error', () => undefined);
    let serverVersionNum = 0;
    const parameters = new Map<string, string>();
    // The server announces its version at login; knowing it saves a round trip before BEGIN.
    const connection = (client as unknown as { connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection;
    connection.on('parameterStatus', (m) => {
      parameters.set(m.parameterName, m.parameterValue);
      if (m.parameterName === 'server_version') serverVersionNum = versionNumOf(m.parameterValue);
    });
    try {
      await client.connect();
      return { client, serverVersionNum, parameters };
    } catch (err) {
      // What the server said of the plain login explains more than a retry the server could not
      // take (no SSL there); a server error of the retry (a wrong password) is its own answer.
      if (lastError === undefined || err instanceof pg.DatabaseError) lastError = err;
      await client.end().catch(() => undefined);
      if (!triesNext(err)) break;
    }
  }
  throw lastError;
}

/** "15.18 (Debian 15.18-0+deb12u1)" → 150018; "10.23" → 100023; "18beta1" → 180000. */
export function versionNumOf(text: string): number {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) return 0;
  const major = Number(m[1]);
  // Before 10 the version had three parts (9.6.24 → 90624).
  return major >= 10 ? major * 10000 + Number(m[2] ?? 0) : major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0);
}

/**
 * A statement that hit statement_timeout or lock_timeout, with what it was for, so that the
 * check's failed result can say which read was too slow and which flag to raise.
 */
export interface QueryFailure extends Error {
  code?: string;
  purpose?: string;
}

function wrapClient(client: pg.Client, target: DatabaseTarget, serverVersionNum: number, limits: SessionLimits, earlierRoundTrips = 0): Session {
  let count = earlierRoundTrips;
  const run = async <R>(sql: string, params: unknown[] | undefined, opts: QueryOptions = {}): Promise<R> => {
    count++;
    // From PostgreSQL 13 every statement of a message may take up to statement_timeout on the
    // server (before, the timeout covered the whole message): the client waits for all of them,
    // so that only a server that stopped answering ends as a lost connection.
    const statements = serverVersionNum >= 130000 ? Math.max(1, opts.statements ?? 1) : 1;
    const queryTimeout = statements * limits.statementTimeoutMs + MESSAGE_SLACK_MS;
    try {
      return (await client.query({ text: sql, values: params, query_timeout: queryTimeout } as pg.QueryConfig)) as R;
    } catch (err) {
      if (isConnectionLost(err)) throw connectionLostError(err, target);
      if (opts.purpose && err instanceof Error) (err as QueryFailure).purpose = opts.purpose;
      throw err;
    }
  };
  // Text of several statements (no params) is one round trip; their rows come back concatenated.
  const query: QueryFn = async <R extends Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions) => {
    const result = await run<pg.QueryResult<R> | pg.QueryResult<R>[]>(sql, params, opts);
    return Array.isArray(result) ? result.flatMap((r) => r.rows) : result.rows;
  };
  const queryEach = async (sql: string, opts?: QueryOptions) => {
    const result = await run<pg.QueryResult | pg.QueryResult[]>(sql, undefined, opts);
    return (Array.isArray(result) ? result : [result]).map((r) => r.rows as Record<string, unknown>[]);
  };
  return {
    query,
    queryEach,
    serverVersionNum,
    pid: (client as unknown as { processID: number }).processID,
    roundTrips: () => count,
    async beginReadOnly<R extends Record<string, unknown>>(firstSql?: string, opts?: QueryOptions, snapshot?: string) {
      const statements = [...beginStatements(serverVersionNum, snapshot), ...(firstSql ? [firstSql] : [])];
      return query<R>(statements.join(';\n'), undefined, { ...opts, statements: opts?.statements ?? (firstSql ? 1 : 0) });
    },
    async close(opts) {
      // Done once Terminate is written: the backend then ends the transaction and exits by itself,
      // which after a check of 10,000 tables takes it 10-20 ms that nothing here needs to wait for.
      const ended = client.end().catch(() => undefined);
      if (opts?.wait) await ended;
    },
  };
}
