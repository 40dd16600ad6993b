import { afterAll, beforeAll, inject } from 'vitest';
import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import type { SharedServer } from '../global-setup.js';

export type { SharedServer };

export function sharedServers(): SharedServer[] {
  return inject('servers');
}

let counter = 0;

/** A database name no other test file uses, safe to create on the shared servers. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${counter}_${Math.floor(Math.random() * 1e6)}`.toLowerCase();
}

export async function withClient<T>(server: Pick<SharedServer, 'host' | 'port'>, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database });
  await client.connect();
  try {
    // A LATIN1 or SQL_ASCII database would otherwise take node's UTF-8 bytes as its own encoding.
    await client.query("SET client_encoding = 'UTF8'");
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function sql(server: Pick<SharedServer, 'host' | 'port'>, database: string, text: string): Promise<pg.QueryResult[]> {
  return withClient(server, database, async (c) => {
    const r = (await c.query(text)) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(r) ? r : [r];
  });
}

export interface CreateDb {
  encoding?: string;
  collate?: string;
  ctype?: string;
  /** Extra CREATE DATABASE options (LOCALE_PROVIDER ...). */
  extra?: string;
  /** SQL run inside the new database. */
  setup?: string;
}

export async function createDatabase(server: SharedServer, prefix: string, opts: CreateDb = {}): Promise<string> {
  const name = uniqueName(prefix);
  const parts = [`CREATE DATABASE "${name}" TEMPLATE template0`];
  parts.push(`ENCODING '${opts.encoding ?? 'UTF8'}'`);
  parts.push(`LC_COLLATE '${opts.collate ?? 'C'}' LC_CTYPE '${opts.ctype ?? 'C'}'`);
  if (opts.extra) parts.push(opts.extra);
  await sql(server, 'postgres', parts.join(' '));
  if (opts.setup) await sql(server, name, opts.setup);
  return name;
}

export function dsnFor(server: Pick<SharedServer, 'host' | 'port'>, database: string, user = 'postgres'): string {
  return `postgresql://${encodeURIComponent(user)}@${server.host}:${server.port}/${encodeURIComponent(database)}`;
}

/**
 * A server of `spec` for the enclosing describe block alone (no other test's sessions to count, a
 * data directory it may change), with `database` created and `setup` run in it; stopped after
 * the block. `server` is there once the block's tests run.
 */
export function privateServer(spec: string, database: string, setup: string): { readonly server: ThrowawayServer } {
  const own = {} as { server: ThrowawayServer };
  beforeAll(async () => {
    own.server = await startThrowawayServer({ server: spec });
    await sql(own.server, 'postgres', `CREATE DATABASE ${database}`);
    await sql(own.server, database, setup);
  }, 120_000);
  afterAll(async () => {
    await own.server?.stop();
  });
  return own;
}
