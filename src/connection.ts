// One connection per database, with hard limits on connect time and on every statement.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { DatabaseTarget } from './config/target.js';
import { diagnoseConnectionError, isConnectionLost, connectionLostError } from './connection-errors.js';
import type { QueryFn } from './types.js';

export interface SessionLimits {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 5_000,
  lockTimeoutMs: 2_000,
};

export interface Session {
  query: QueryFn;
  /** Statements sent to the server so far (each is one round trip). */
  roundTrips(): number;
  /** Starts the read-only transaction; `firstSql` (no parameters) rides in the same round trip. */
  beginReadOnly<R extends Record<string, unknown>>(firstSql?: string): Promise<R[]>;
  /** After a failed statement the transaction is aborted: start a fresh one. */
  restartReadOnly(): Promise<void>;
  close(): Promise<void>;
}

type SslSetting = false | ConnectionOptions;

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
      return [unverified, false];
    case 'require':
      // libpq verifies the CA under "require" only when a root certificate is given.
      return [c.sslrootcert ? { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined } : unverified];
    case 'verify-ca':
      return [{ ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [{ ...files, rejectUnauthorized: true }];
    default:
      return [unverified, false];
  }
}

function isSslUnsupported(err: unknown): boolean {
  return err instanceof Error && /does not support SSL/i.test(err.message);
}

export async function openSession(target: DatabaseTarget, limits: SessionLimits = DEFAULT_LIMITS): Promise<Session> {
  const c = target.connection;
  let lastError: unknown;
  for (const ssl of sslAttempts(target)) {
    const client = new pg.Client({
      host: c.host,
      port: c.port,
      user: c.user,
      database: c.database,
      // A function: node-postgres then never looks at PGPASSWORD or ~/.pgpass itself (the config
      // layer applied them already, as libpq does), and the password lives in this closure only.
      // @types/pg wants a string; pg itself takes undefined as "no password" (client.js _getPassword).
      password: (async () => c.password) as () => Promise<string>,
      ssl,
      options: c.options,
      application_name: 'pg-preflight',
      connectionTimeoutMillis: limits.connectTimeoutMs,
      statement_timeout: limits.statementTimeoutMs,
      lock_timeout: limits.lockTimeoutMs,
      // Nothing we do should sit idle in a transaction; if we hang, the server cleans up.
      idle_in_transaction_session_timeout: Math.max(limits.statementTimeoutMs * 2, 10_000),
      // A server that stops answering mid-run: the client gives up a little after the server would.
      query_timeout: limits.statementTimeoutMs + 5_000,
      keepAlive: true,
    });
    // An error event without a listener would crash the process; queries report it instead.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return wrapClient(client, target);
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
      if (!(ssl !== false && isSslUnsupported(err))) break;
    }
  }
  throw diagnoseConnectionError(lastError, target, limits);
}

function wrapClient(client: pg.Client, target: DatabaseTarget): Session {
  let count = 0;
  const run = async <R>(sql: string, params?: unknown[]): Promise<R> => {
    count++;
    try {
      return (await client.query(sql, params as unknown[])) as R;
    } catch (err) {
      if (isConnectionLost(err)) throw connectionLostError(err, target);
      throw err;
    }
  };
  // Text of several statements (no params) is one round trip; their rows come back concatenated.
  const query: QueryFn = async <R extends Record<string, unknown>>(sql: string, params?: unknown[]) => {
    const result = await run<pg.QueryResult<R> | pg.QueryResult<R>[]>(sql, params);
    return Array.isArray(result) ? result.flatMap((r) => r.rows) : result.rows;
  };
  return {
    query,
    roundTrips: () => count,
    async beginReadOnly<R extends Record<string, unknown>>(firstSql?: string) {
      // REPEATABLE READ: every check sees the same snapshot. READ ONLY: the server refuses writes,
      // including nextval() and temp tables, whatever a check (or a plugin) tries.
      const begin = 'BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY';
      return query<R>(firstSql ? `${begin}; ${firstSql}` : begin);
    },
    async restartReadOnly() {
      await run('ROLLBACK; BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}
