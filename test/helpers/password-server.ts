import pg from 'pg';
import { startThrowawayServer, type ThrowawayServer } from '../../src/throwaway/server.js';
import { quoteIdent, quoteLiteral } from '../../src/quote.js';

export interface PasswordServerOptions {
  role: string;
  password: string;
  database: string;
  encoding?: string;
}

/**
 * A PostgreSQL 18 server where `role` must log in over TCP with its SCRAM password (the
 * superuser keeps trust), owning `database`: for tests about credentials and their secrecy.
 */
export async function startPasswordServer(opts: PasswordServerOptions): Promise<ThrowawayServer> {
  const server = await startThrowawayServer({
    major: 18,
    hba: ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  });
  const c = new pg.Client({ host: server.socketDir, port: server.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${quoteIdent(opts.role)} LOGIN PASSWORD ${quoteLiteral(opts.password)}`);
    await c.query(
      `CREATE DATABASE ${quoteIdent(opts.database)} OWNER ${quoteIdent(opts.role)} TEMPLATE template0 ENCODING ${quoteLiteral(opts.encoding ?? 'UTF8')} LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  } finally {
    await c.end();
  }
  return server;
}
