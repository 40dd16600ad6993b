// What the sequence and fix benchmarks share: a throwaway server with PostgreSQL's default memory
// and connection settings, and a database of N serial tables of which one in `every` holds rows
// with explicit ids (a restore without sequence values: its sequence is behind).
import pg from 'pg';
import type { ThrowawayServer } from '../src/throwaway/server.js';

/** PostgreSQL's own defaults, where the throwaway server's differ (it trims them for tests). */
export const DEFAULT_SETTINGS = { shared_buffers: '128MB', max_connections: 100 };
const TABLES_PER_TRANSACTION = 250;

export async function withClient<T>(server: ThrowawayServer, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres', database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * `others`: what the tables not left behind hold: rows taken from their sequences (`rows`), or
 * nothing (`empty`, as most tables of a large schema are).
 */
export async function buildSerialTables(server: ThrowawayServer, db: string, size: number, every: number, others: 'rows' | 'empty'): Promise<string> {
  await withClient(server, 'postgres', (c) => c.query(`CREATE DATABASE ${db} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`));
  await withClient(server, db, async (c) => {
    for (let from = 0; from < size; from += TABLES_PER_TRANSACTION) {
      const sql = ['BEGIN'];
      for (let i = from; i < Math.min(size, from + TABLES_PER_TRANSACTION); i++) {
        sql.push(`CREATE TABLE t${i} (id serial PRIMARY KEY, v int)`);
        if (i % every === 0) sql.push(`INSERT INTO t${i} (id, v) VALUES (1, 1), (2, 2), (3, 3)`);
        else if (others === 'rows') sql.push(`INSERT INTO t${i} (v) VALUES (1), (2), (3)`);
      }
      sql.push('COMMIT');
      await c.query(sql.join(';\n'));
    }
    await c.query('VACUUM ANALYZE');
  });
  return db;
}
